"""Seeded parameter draws of a sampled task: which settings each render of a dry clip gets.

The draws of a clip depend only on the task's name, the dataset seed and the clip's id (never on which worker
renders it, or in what order), so a build is the same bytes for any number of workers, and two tasks built
from the same clips get independent settings.
"""
from __future__ import annotations

import hashlib

import numpy as np

from fxbench.task import TaskConfig

DRAWS_VERSION = 2  # part of a sampled task's fingerprint; 2: the task's name seeds its draws


def clip_rng(task: str, seed: int, clip_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"fxbench-draws/{task}/{seed}/{clip_id}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, *np.frombuffer(digest, "<u4")]))


def draws(task: TaskConfig, seed: int, clip_id: str) -> dict[str, np.ndarray]:
    """Per parameter, ``draws_per_clip`` values in its unit (float32, as stored and as rendered), uniform on
    its scaled axis (the log axis for ``sampling: log``)."""
    u = clip_rng(task.task, seed, clip_id).random((task.rows_per_clip, len(task.parameters)))
    out = {}
    for j, p in enumerate(task.parameters):
        lo, hi = (np.float32(v) for v in p.range)
        out[p.name] = np.clip(np.asarray(p.unscale(u[:, j]), dtype=np.float32), lo, hi)
    return out
