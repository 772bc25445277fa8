"""How much each target changes the sound, measured before any model is trained.

A parameter whose range barely changes the audio cannot be learnt from the wet clip, and a wrong guess of it
costs a producer nothing: a reader should see that beside its MAE. For every parameter, dry synth clips are
rendered at two settings that differ only in that parameter (the others drawn at random, the same on both
sides) and the two renders are compared with the re-render metric's own distance (fxbench/rerender.py):

- a grid parameter: every pair of neighbouring grid values, so the quietest step shows (bit depths 15 -> 16);
- a sampled parameter: random pairs of values over its range (uniform on its own scale, log where it is log);
- a presence target: the stage on against off.

Each distance is read against how much the effect changes a clip at all: the median distance between the
dry clip and its render at random settings. ``share`` is the median pair distance over that scale; a
parameter (or, on a grid, its quietest step) under ``FLAG_SHARE`` is flagged as barely audible.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from fxbench.task import Parameter, TaskConfig

#: Below this share of the effect's own change a parameter is flagged as barely audible.
FLAG_SHARE = 0.1
#: What a measure was taken with; stored beside it so that figures stay comparable.
SETTINGS = {"clips": 3, "pairs_per_clip": 6, "seed": 0, "source": "synth", "flag_share": FLAG_SHARE, "version": 1}


@dataclass(frozen=True)
class Audibility:
    """One parameter's measure."""

    parameter: str
    pairs: str  # "neighbours", "random" or "on/off"
    median_distance: float
    share: float  # median_distance / the effect's own change (dry vs wet at random settings)
    quietest: Optional[str]  # a grid parameter's least audible step, "a -> b"
    quietest_share: Optional[float]

    @property
    def flagged(self) -> bool:
        return self.share < FLAG_SHARE or (self.quietest_share is not None and self.quietest_share < FLAG_SHARE)

    def to_dict(self) -> dict:
        return {**asdict(self), "flagged": self.flagged}


def skipped_because(task: TaskConfig) -> Optional[str]:
    """Why a task's parameters cannot be measured this way, or None (the re-render metric's own reasons)."""
    from fxbench.rerender import skipped_because as rerender_skip

    return rerender_skip(task)


def dry_clips(task: TaskConfig, n: int) -> list[np.ndarray]:
    """``n`` dry synth clips of the task's length at the build's -1 dBFS peak, as 16-bit PCM."""
    from fxbench.render import to_int16
    from fxbench.sources.synth import synth_recording

    out = []
    for i in range(n):
        x = synth_recording(SETTINGS["seed"], i, task.clip_seconds, task.sample_rate, 6).audio[:task.clip_samples]
        out.append(to_int16(x / max(float(np.abs(x).max()), 1e-9) * 10 ** (-1 / 20)))
    return out


def _pairs(p: Parameter, rng: np.random.Generator, n: int) -> list[tuple[float, float, str]]:
    """(scaled a, scaled b, label) pairs that differ only in ``p``."""
    if p.is_presence:
        return [(0.0, 1.0, "off -> on")] * n
    if p.grid is not None:
        g, s = p.grid, p.scaled_grid
        return [(s[i], s[i + 1], f"{g[i]:g} -> {g[i + 1]:g}") for i in range(len(g) - 1)]
    return [(float(a), float(b), "") for a, b in rng.random((n, 2))]


def measure(task: TaskConfig) -> list[Audibility]:
    """Every parameter's audibility on ``task`` (deterministic: fixed clips and seed)."""
    from fxbench.rerender import Distances, render_rows

    why = skipped_because(task)
    if why is not None:
        raise ValueError(f"task {task.task}: {why}")
    rng = np.random.default_rng(SETTINGS["seed"])
    distance = Distances(task)
    k = len(task.parameters)
    n = SETTINGS["pairs_per_clip"]

    def between(dry: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        drys = np.repeat(dry[None], len(a), axis=0)
        return distance(render_rows(task, drys, a), render_rows(task, drys, b))[0]

    def effect_change(dry: np.ndarray, settings: np.ndarray) -> np.ndarray:
        from fxbench.render import from_int16

        drys = np.repeat(dry[None], len(settings), axis=0)
        return distance(render_rows(task, drys, settings), from_int16(drys))[0]

    clips = dry_clips(task, SETTINGS["clips"])
    scale = float(np.median(np.concatenate([effect_change(d, rng.random((n, k))) for d in clips])))
    out = []
    for j, p in enumerate(task.parameters):
        per_step: dict[str, list[float]] = {}
        for dry in clips:
            pairs = _pairs(p, rng, n)
            a = rng.random((len(pairs), k))  # the other parameters: random, the same on both sides
            b = a.copy()
            a[:, j] = [x for x, _, _ in pairs]
            b[:, j] = [y for _, y, _ in pairs]
            for (_, _, label), d in zip(pairs, between(dry, a, b)):
                per_step.setdefault(label, []).append(float(d))
        every = [d for ds in per_step.values() for d in ds]
        median = float(np.median(every))
        quietest = quietest_share = None
        if p.grid is not None and len(per_step) > 1:
            quietest, ds = min(per_step.items(), key=lambda kv: float(np.median(kv[1])))
            quietest_share = float(np.median(ds)) / scale if scale > 0 else 0.0
        kind = "on/off" if p.is_presence else "neighbours" if p.grid is not None else "random"
        out.append(Audibility(p.name, kind, median, median / scale if scale > 0 else 0.0, quietest, quietest_share))
    return out


def measure_cached(task: TaskConfig, data_dir: Optional[str] = None) -> list[Audibility]:
    """``measure``, kept in the dataset cache by task digest (it renders and so takes seconds)."""
    import json
    import os

    from fxbench.dataset.cache import cache_root

    path = cache_root(data_dir) / "identifiability" / f"{task.task}__{task.digest()[:12]}__v{SETTINGS['version']}.json"
    try:
        saved = json.loads(path.read_text())
        if saved.get("settings") == SETTINGS:
            return [Audibility(**{k: v for k, v in a.items() if k != "flagged"}) for a in saved["parameters"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass  # absent or unreadable: measured again
    got = measure(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"task": task.task, "digest": task.digest(), "settings": SETTINGS,
                               "parameters": [a.to_dict() for a in got]}, indent=1))
    os.replace(tmp, path)
    return got


def summary(found: list[Audibility]) -> str:
    """One line for a task: each parameter's share, the flagged ones marked."""
    parts = []
    for a in found:
        text = f"{a.parameter} {a.share:.2f}"
        if a.quietest is not None:
            text += f" (quietest step {a.quietest}: {a.quietest_share:.2f})"
        parts.append(text + (" — barely audible" if a.flagged else ""))
    return "; ".join(parts)


def read_measures(path) -> tuple[dict[str, str], Optional[str]]:
    """A measures file (``fxbench tasks --details --json``) -> ({task: summary line} for the tasks whose
    digest is the installed definition's, None) or ({}, the one-line reason it was not read)."""
    import json
    from pathlib import Path

    from pydantic import BaseModel, ConfigDict, ValidationError

    from fxbench.task import available_tasks, load_task

    class _Entry(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        digest: str
        skipped: Optional[str] = None
        parameters: list[dict] = []

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("settings") != SETTINGS or not isinstance(raw.get("tasks"), dict):
            return {}, f"{path}: not a measures file of this fxbench (regenerate: fxbench tasks --details --json {path})"
        entries = {k: _Entry.model_validate(v) for k, v in raw["tasks"].items()}
        known = available_tasks()
        out = {}
        for name, e in entries.items():
            if name in known and not e.skipped and load_task(name).digest() == e.digest:
                out[name] = summary([Audibility(**{k: v for k, v in a.items() if k != "flagged"})
                                     for a in e.parameters])
        return out, None
    except (OSError, ValueError, TypeError, ValidationError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return {}, f"{path}: unreadable measures ({first}); regenerate: fxbench tasks --details --json {path}"
