"""PNG figures: confusion matrices and loss curves as in the paper, and a leaderboard summary chart.

matplotlib is imported inside the functions (the CLI must start without it) and drives the Agg canvas
directly, without pyplot's global state. Every PNG is written to a temporary file beside its target
and renamed, so a reader never sees half an image and an error leaves no stray file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from fxbench.errors import FxbenchError
from fxbench.leaderboard.standings import Records, current, standings
from fxbench.metrics import RANDOM_MAE, snap_to_grid
from fxbench.task import TaskConfig


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    """Atomic PNG write; no 'Software' metadata, so the same figure gives the same bytes."""
    import io

    from fxbench.results import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def _label(value: float) -> str:
    return f"{value:g}"


#: A sampled parameter's confusion matrix snaps to this many evenly spaced values of its scaled range.
SAMPLED_BINS = 11


def _display_grid(p) -> tuple[tuple[float, ...], list[str]]:
    """(scaled values to snap to, their labels): the grid, or for a sampled parameter an even spread."""
    if p.is_presence:
        return (0.0, 1.0), ["off", "on"]
    if p.grid is not None:
        return p.scaled_grid, [_label(v) for v in p.grid]
    scaled = tuple(float(v) for v in np.linspace(0, 1, SAMPLED_BINS))
    return scaled, [f"{float(p.unscale(v)):.3g}" for v in scaled]


def confusion_matrix_png(task: TaskConfig, y_true: Any, y_pred: Any, path: Path) -> Path:
    """Counts of true grid value (rows) vs prediction snapped to the grid (columns), one panel per parameter;
    a sampled parameter's values are snapped to SAMPLED_BINS evenly spaced values, a presence to off/on, and
    a chain's knob counts the rows where its stage was applied."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    want = (len(y_true), len(task.parameters))
    if y_true.ndim != 2 or y_true.shape != want or y_pred.shape != want:
        raise FxbenchError(f"confusion matrix needs y_true and y_pred of shape (rows, {want[1]}) for "
                           f"{task.param_names}; got {y_true.shape} and {y_pred.shape}")
    from fxbench.metrics import scored_mask

    scored = scored_mask(task, y_true)  # a bypassed stage's knob was never heard: not counted
    grids = [_display_grid(p) for p in task.parameters]
    sizes = [len(g) for g, _ in grids]
    side = max(3.5, 0.32 * max(sizes) + 1.8)
    fig = _figure(side * len(sizes), side)
    axes = fig.subplots(1, len(sizes), squeeze=False)[0]
    for j, (ax, p, (scaled, labels)) in enumerate(zip(axes, task.parameters, grids)):
        g = len(scaled)
        counts = np.zeros((g, g), dtype=np.int64)
        rows = scored[:, j]
        if p.is_presence:  # on at 0.5 and above, as the metrics count it
            cells = ((y_true[rows, j] >= 0.5).astype(int), (y_pred[rows, j] >= 0.5).astype(int))
        else:
            cells = (snap_to_grid(y_true[rows, j], scaled), snap_to_grid(y_pred[rows, j], scaled))
        np.add.at(counts, cells, 1)
        ax.imshow(counts, cmap="Blues", interpolation="nearest")
        ax.set_xticks(range(g), labels, rotation=90)
        ax.set_yticks(range(g), labels)
        unit = f" ({p.unit})" if p.unit else ""
        ax.set_xlabel(f"predicted {p.name}{unit}")
        ax.set_ylabel(f"true {p.name}{unit}")
        ax.set_title(f"{task.task}: {p.name}")
        if g <= 24:
            top = counts.max() or 1
            for (r, c), v in np.ndenumerate(counts):
                if v:
                    ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                            color="white" if v > top / 2 else "black")
    return _save(fig, path)


def loss_curve_png(history: list[dict], path: Path) -> Optional[Path]:
    """Train and validation loss per epoch (the paper's figure 5); None, and no file, for no history.

    Two-stage models (reconstruct, then head) get one panel per stage: their losses differ in kind.
    """
    if not history:
        return None
    stages = list(dict.fromkeys(h.get("stage", "train") for h in history))
    fig = _figure(6.0 * len(stages) if len(stages) > 1 else 6.0, 4.0)
    axes = np.atleast_1d(fig.subplots(1, len(stages)))
    for ax, stage in zip(axes, stages):
        part = [h for h in history if h.get("stage", "train") == stage]
        epochs = [h["epoch"] for h in part]
        for key, label in (("train_loss", "train"), ("val_loss", "validation")):
            ax.plot(epochs, [h.get(key, np.nan) for h in part], marker="o", markersize=3, label=label)
        val = np.array([h.get("val_loss", np.nan) for h in part], dtype=np.float64)
        if np.isfinite(val).any():
            best = int(np.nanargmin(val))
            ax.axvline(epochs[best], color="grey", linestyle=":", label=f"best validation (epoch {epochs[best]})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if len(stages) > 1:
            ax.set_title(f"stage: {stage}", fontsize=10)
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, path)


def summary_chart_png(records: Records, path: Path) -> Path:
    """Grouped bars of mean test MAE per model per task (synth → synth current groups), std over seeds,
    1/3 dashed."""
    cur = current(standings(records), "synth_to_synth")
    tasks = sorted(cur["task"].unique())
    stats = {(row.model, row.task): (row.mae_mean, row.mae_std) for row in cur.itertuples()}
    models = sorted(cur["model"].unique())
    legend_w = 1.0 + 0.07 * max([len(m) for m in models] + [20])
    fig = _figure(legend_w + max(4.0, 1.2 + len(tasks) * (0.35 * len(models) + 0.6)), 4.5)
    ax = fig.subplots()
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        xs, means, stds = [], [], []
        for k, t in enumerate(tasks):
            if (model, t) in stats:  # a missing model/task pair has no bar: never imputed
                xs.append(k - 0.4 + width * (i + 0.5))
                means.append(float(stats[model, t][0]))
                stds.append(float(stats[model, t][1]))  # NaN for one seed: no bar
        short = bool(cur.loc[cur["model"] == model, "short"].any())
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=f"{model} (short: fewer epochs)" if short else model)
    ax.axhline(RANDOM_MAE, color="black", linestyle="--", linewidth=1, label="uniform random (1/3)")
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_xlim(-0.6, max(0.6, len(tasks) - 0.4))
    ax.set_ylabel("test MAE (scaled, lower is better)")
    ax.set_title("mean test MAE per task (error bars: std over seeds)", fontsize=10)
    if not tasks:
        ax.text(0.5, 0.5, "no result records yet", ha="center", va="center", transform=ax.transAxes)
    fig.legend(loc="outside right center", fontsize=8)
    return _save(fig, path)


def record_figures(record: dict, outputs: dict, path: Path) -> list[Path]:
    """Confusion matrix (paper figs 7, 8, 12, 13) and loss curve (fig 5) as PNGs beside the record at ``path``;
    ``outputs``: the run's task, test targets and predictions."""
    from fxbench.destination import figure_paths

    figures = figure_paths(path)
    made = [confusion_matrix_png(outputs["task"], outputs["y_true"], outputs["y_pred"], figures["confusion"])]
    if record.get("history"):
        made.append(loss_curve_png(record["history"], figures["loss"]))
    return [p for p in made if p is not None]
