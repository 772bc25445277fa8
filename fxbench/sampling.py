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
    its scaled axis (the log axis for ``sampling: log``); a presence target is 1 with its stage's p_active.

    A chain's stages' varied settings (no targets) follow under ``varied_key(stage, setting)``."""
    rng = clip_rng(task.task, seed, clip_id)
    u = rng.random((task.rows_per_clip, len(task.parameters)))
    stages = {s.name: s for s in task.effect.chain}
    out = {}
    for j, p in enumerate(task.parameters):
        if p.is_presence:
            out[p.name] = (u[:, j] < stages[p.stage].p_active).astype(np.float32)
            continue
        lo, hi = (np.float32(v) for v in p.range)
        out[p.name] = np.clip(np.asarray(p.unscale(u[:, j]), dtype=np.float32), lo, hi)
    varied = [(s.name, k, span) for s in task.effect.chain for k, span in s.vary.items()]
    if varied:
        v = rng.random((task.rows_per_clip, len(varied)))
        for j, (stage, k, (lo, hi)) in enumerate(varied):
            out[varied_key(stage, k)] = (lo + v[:, j] * (hi - lo)).astype(np.float32)
    return out


def varied_key(stage: str, setting: str) -> str:
    """Where ``draws`` puts a stage's varied setting: never a parameter's name (those are identifiers)."""
    return f"{stage}.{setting}"
