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


def per_param_chance_mae(task: TaskConfig, y_true: np.ndarray) -> dict[str, float]:
    """Per parameter, the exact expected MAE of a guess drawn uniformly from its grid, on these targets."""
    return {p.name: float(np.abs(y_true[:, j, None] - np.asarray(p.scaled_grid)[None, :]).mean())
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
