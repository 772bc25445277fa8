"""Metrics on parameters scaled to [0, 1], plus the two chance levels every score is read against."""
from __future__ import annotations

import numpy as np

from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig

#: The paper's chance level: E|x - y| for x, y ~ Uniform(0, 1) independently.
RANDOM_MAE = 1.0 / 3.0


def snap_to_grid(scaled: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """Index of the nearest grid value (ties go to the lower one)."""
    g = np.asarray(grid, dtype=np.float64)
    return np.abs(np.asarray(scaled, dtype=np.float64)[:, None] - g[None, :]).argmin(axis=1)


def uniform_guess_mae(y: np.ndarray) -> float:
    """Exact E|U - y| for U ~ Uniform(0, 1), averaged over targets y in [0, 1]: (y^2 + (1 - y)^2) / 2."""
    y = np.asarray(y, dtype=np.float64)
    return float(((y ** 2 + (1 - y) ** 2) / 2).mean())


def per_param_chance_mae(task: TaskConfig, y_true: np.ndarray) -> dict[str, float]:
    """Per parameter, the exact expected MAE of a guess drawn uniformly from its grid (a sampled parameter:
    from its scaled range), on these targets."""
    return {p.name: uniform_guess_mae(y_true[:, j]) if p.is_sampled else
            float(np.abs(y_true[:, j, None] - np.asarray(p.scaled_grid)[None, :]).mean())
            for j, p in enumerate(task.parameters)}


def chance_mae(task: TaskConfig, y_true: np.ndarray) -> float:
    """Exact expected MAE of a guess drawn uniformly from each parameter's grid, on these targets."""
    return float(np.mean(list(per_param_chance_mae(task, y_true).values())))


def check_predictions(task: TaskConfig, y_pred: np.ndarray, n: int) -> np.ndarray:
    y_pred = np.asarray(y_pred, dtype=np.float64)
    want = (n, len(task.parameters))
    if y_pred.shape != want:
        raise FxbenchError(f"predictions have shape {y_pred.shape}, expected {want} (rows x parameters "
                           f"{task.param_names})")
    if not np.isfinite(y_pred).all():
        bad = int((~np.isfinite(y_pred)).any(axis=1).sum())
        raise FxbenchError(f"{bad} prediction rows contain NaN or inf; a model must return finite values")
    return y_pred


def compute_metrics(task: TaskConfig, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """All of the task's metrics for scaled targets and predictions of shape (n, n_params)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = check_predictions(task, y_pred, len(y_true))
    err = y_pred - y_true
    names = task.param_names
    per_mae = np.abs(err).mean(axis=0)
    if task.is_sampled:
        return _sampled_metrics(task, y_true, y_pred)
    hits = np.stack([snap_to_grid(y_pred[:, j], p.scaled_grid) == snap_to_grid(y_true[:, j], p.scaled_grid)
                     for j, p in enumerate(task.parameters)], axis=1)
    out = {
        "mae": float(np.abs(err).mean()),
        "mse": float((err ** 2).mean()),
        "per_param_mae": {n: float(v) for n, v in zip(names, per_mae)},
        "per_param_mae_units": {n: float(v * p.span) for n, v, p in zip(names, per_mae, task.parameters)},
        "grid_accuracy": float(hits.all(axis=1).mean()),
        "per_param_grid_accuracy": {n: float(v) for n, v in zip(names, hits.mean(axis=0))},
        "random_mae": RANDOM_MAE,
        "chance_mae": chance_mae(task, y_true),
        "per_param_chance_mae": per_param_chance_mae(task, y_true),
        "n": int(len(y_true)),
    }
    return out


def _sampled_metrics(task: TaskConfig, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Sampled parameters: errors scaled and in units (for a log parameter, of the values themselves), and
    the share of rows within each parameter's tolerance in place of grid accuracy."""
    err = y_pred - y_true
    names, params = task.param_names, task.parameters
    units_err = np.stack([p.unscale(y_pred[:, j]) - p.unscale(y_true[:, j]) for j, p in enumerate(params)], axis=1)
    within = np.abs(err) <= np.array([p.scaled_tolerance for p in params]) + 1e-9
    return {
        "mae": float(np.abs(err).mean()),
        "mse": float((err ** 2).mean()),
        "per_param_mae": {n: float(v) for n, v in zip(names, np.abs(err).mean(axis=0))},
        "per_param_mae_units": {n: float(v) for n, v in zip(names, np.abs(units_err).mean(axis=0))},
        "per_param_mse": {n: float(v) for n, v in zip(names, (err ** 2).mean(axis=0))},
        "per_param_mse_units": {n: float(v) for n, v in zip(names, (units_err ** 2).mean(axis=0))},
        "within_tolerance": float(within.all(axis=1).mean()),
        "per_param_within_tolerance": {n: float(v) for n, v in zip(names, within.mean(axis=0))},
        "tolerance": {p.name: p.scaled_tolerance for p in params},
        "random_mae": RANDOM_MAE,
        "chance_mae": chance_mae(task, y_true),
        "per_param_chance_mae": per_param_chance_mae(task, y_true),
        "n": int(len(y_true)),
    }
