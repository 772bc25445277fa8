"""Seeded parameter draws of a sampled task: which settings each render of a dry clip gets.

The draws of a clip depend only on the dataset seed and the clip's id (never on which worker renders it, or
in what order), so a build is the same bytes for any number of workers.
"""
from __future__ import annotations

import hashlib

import numpy as np

from fxbench.task import TaskConfig


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"fxbench-draws/{seed}/{clip_id}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, *np.frombuffer(digest, "<u4")]))


def draws(task: TaskConfig, seed: int, clip_id: str) -> dict[str, np.ndarray]:
    """Per parameter, ``draws_per_clip`` values in its unit (float32, as stored and as rendered), uniform on
    its scaled axis (the log axis for ``sampling: log``)."""
    u = clip_rng(seed, clip_id).random((task.rows_per_clip, len(task.parameters)))
    out = {}
    for j, p in enumerate(task.parameters):
        lo, hi = (np.float32(v) for v in p.range)
        out[p.name] = np.clip(np.asarray(p.unscale(u[:, j]), dtype=np.float32), lo, hi)
    return out
