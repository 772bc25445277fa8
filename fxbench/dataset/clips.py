"""Dry recordings -> 2-s dry clips, and recordings -> splits.

The policy is the same for every source and is written into the dataset card:
clips are cut back to back, a clip whose RMS is below ``silence_dbfs`` is
skipped, each kept clip is peak-normalised to ``peak_dbfs`` (so level-dependent
effects such as the bitcrusher's quantisation step or a limiter's threshold see
comparable input), and a recording gives at most ``clips_per_recording`` clips
so that one long file cannot dominate.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from fxbench.render import to_int16
from fxbench.sources.base import Recording
from fxbench.task import SplitSpec, TaskConfig

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ClipPolicy:
    """How clips are cut from recordings; part of the dataset fingerprint."""

    clip_seconds: float = 2.0
    silence_dbfs: float = -60.0
    peak_dbfs: float = -1.0
    clips_per_recording: int = 2

    @classmethod
    def for_task(cls, task: TaskConfig) -> "ClipPolicy":
        return cls(clip_seconds=task.clip_seconds, clips_per_recording=task.dataset.clips_per_recording)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Clip:
    clip_id: str
    recording_id: str
    index: int
    start: int
    pcm: np.ndarray  # int16, the dry clip as stored


def cut_clips(rec: Recording, policy: ClipPolicy) -> Iterator[Clip]:
    """Back-to-back clips of one recording, silent ones skipped, each peak-normalised."""
    n = int(round(policy.clip_seconds * rec.sample_rate))
    peak_target = 10 ** (policy.peak_dbfs / 20)
    kept = 0
    for index in range(len(rec.audio) // n):
        if kept >= policy.clips_per_recording:
            return
        seg = np.asarray(rec.audio[index * n:(index + 1) * n], dtype=np.float64)
        rms = np.sqrt(np.mean(seg ** 2))
        if rms <= 10 ** (policy.silence_dbfs / 20):
            continue
        seg = seg * (peak_target / np.max(np.abs(seg)))
        kept += 1
        yield Clip(f"{rec.recording_id}-c{index:03d}", rec.recording_id, index, index * n, to_int16(seg))


def assign_splits(recording_ids: list[str], spec: SplitSpec, seed: int) -> dict[str, str]:
    """Seeded shuffle of the sorted ids, then cut 80/10/10; every split gets >= 1 recording."""
    ids = sorted(recording_ids)
    n = len(ids)
    if n < 3:
        raise ValueError(f"need at least 3 recordings to make train/validation/test splits, got {n}")
    order = np.random.default_rng([seed, 5821]).permutation(n)
    n_test = max(1, int(round(n * spec.test)))
    n_val = max(1, int(round(n * spec.validation)))
    n_train = n - n_test - n_val
    if n_train < 1:
        n_train, n_val = 1, n - n_test - 1
    out = {}
    for rank, i in enumerate(order):
        out[ids[i]] = "train" if rank < n_train else "validation" if rank < n_train + n_val else "test"
    return out
