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


def scored_mask(task: TaskConfig, y_true: np.ndarray) -> np.ndarray:
    """(n, n_params) bool: where each target is scored. A chain stage's knobs count only on the rows where the
    stage was applied (its presence target is 1): elsewhere they were drawn but never heard."""
    y_true = np.asarray(y_true, dtype=np.float64)
    mask = np.ones(y_true.shape, dtype=bool)
    for j, col in enumerate(task.scored_on()):
        if col is not None:
            mask[:, j] = y_true[:, col] >= 0.5
    return mask


def row_errors(task: TaskConfig, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per row, the mean absolute error over the targets scored on it; their mean is the task's MAE."""
    err = np.abs(np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64))
    mask = scored_mask(task, y_true)
    if mask.all():
        return err.mean(axis=1)
    return (err * mask).sum(axis=1) / mask.sum(axis=1)  # presence targets are scored on every row


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Column means over the masked rows (every row where a column has none: a test split too small)."""
    keep = np.where(mask.any(axis=0), mask, True)
    return (values * keep).sum(axis=0) / keep.sum(axis=0)


def _detection(task: TaskConfig, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Presence targets as detection: accuracy and F1 per stage at the 0.5 threshold, and their macro F1."""
    acc, f1 = {}, {}
    for j, p in enumerate(task.parameters):
        if not p.is_presence:
            continue
        t, g = y_true[:, j] >= 0.5, y_pred[:, j] >= 0.5
        tp, fp, fn = int((t & g).sum()), int((~t & g).sum()), int((t & ~g).sum())
        acc[p.name] = float((t == g).mean())
        f1[p.name] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    if not f1:
        return {}
    return {"macro_f1": float(np.mean(list(f1.values()))), "per_param_f1": f1, "per_param_accuracy": acc}


def _sampled_metrics(task: TaskConfig, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Sampled parameters: errors scaled and in units (for a log parameter, of the values themselves), and
    the share of rows within each parameter's tolerance in place of grid accuracy (a presence target: on the
    right side of 0.5). A chain's knobs are scored where their stage was applied (``scored_mask``)."""
    err = y_pred - y_true
    names, params = task.param_names, task.parameters
    mask = scored_mask(task, y_true)
    units_err = np.stack([p.unscale(y_pred[:, j]) - p.unscale(y_true[:, j]) for j, p in enumerate(params)], axis=1)
    within = np.abs(err) <= np.array([p.scaled_tolerance for p in params]) + 1e-9
    for j, p in enumerate(params):
        if p.is_presence:
            within[:, j] = (y_pred[:, j] >= 0.5) == (y_true[:, j] >= 0.5)
    if mask.all():  # every target on every row: the plain means
        mae, mse = float(np.abs(err).mean()), float((err ** 2).mean())
    else:
        mae = float(row_errors(task, y_true, y_pred).mean())
        mse = float((((err ** 2) * mask).sum(axis=1) / mask.sum(axis=1)).mean())
    chance = {p.name: uniform_guess_mae(y_true[mask[:, j] if mask[:, j].any() else slice(None), j])
              for j, p in enumerate(params)}
    return {
        "mae": mae,
        "mse": mse,
        "per_param_mae": dict(zip(names, map(float, _masked_mean(np.abs(err), mask)))),
        "per_param_mae_units": dict(zip(names, map(float, _masked_mean(np.abs(units_err), mask)))),
        "per_param_mse": dict(zip(names, map(float, _masked_mean(err ** 2, mask)))),
        "per_param_mse_units": dict(zip(names, map(float, _masked_mean(units_err ** 2, mask)))),
        "within_tolerance": float((within | ~mask).all(axis=1).mean()),
        "per_param_within_tolerance": dict(zip(names, map(float, _masked_mean(within.astype(float), mask)))),
        "tolerance": {p.name: p.scaled_tolerance for p in params if not p.is_presence},
        **_detection(task, y_true, y_pred),
        "random_mae": RANDOM_MAE,
        "chance_mae": float(np.mean(list(chance.values()))),
        "per_param_chance_mae": chance,
        "n": int(len(y_true)),
    }
