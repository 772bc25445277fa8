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
from typing import Any, Callable, Iterator, Optional

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
    def for_task(cls, task: TaskConfig, source: Optional[Any] = None) -> "ClipPolicy":
        """The clips per recording ``open_source`` chose (a ``--clips-per-recording`` override, else the task's
        default for the source's kind); a source made by hand gets the default of its registered kind."""
        per_recording = getattr(source, "clips_per_recording", None)
        if per_recording is None:
            from fxbench.sources import default_clips_per_recording
            from fxbench.sources.registry import source_entry

            entry = source_entry(getattr(source, "name", "synth"))
            per_recording = default_clips_per_recording(task, entry.kind if entry else "synth")
        return cls(clip_seconds=task.clip_seconds, clips_per_recording=per_recording)

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


def _block_size(spec: SplitSpec) -> int:
    """The smallest block in which every split fraction is a whole number of recordings."""
    for size in (10, 20, 25, 40, 50, 100):
        if all(abs(f * size - round(f * size)) < 1e-9 for f in (spec.train, spec.validation, spec.test)):
            return size
    return 100


def assign_splits(recording_ids: list[str], spec: SplitSpec, seed: int,
                  key: Optional[Callable[[str], Any]] = None) -> dict[str, str]:
    """Recording -> split, decided for each recording independently of how many others there are.

    Ids, sorted (by ``key`` when the source gives one: the synth source's recording number), are taken in
    blocks (10 for 80/10/10); within block k a permutation seeded by (seed, k) gives each slot its split, so
    8 train, 1 validation and 1 test recording per full block. A recording's split depends only on its rank
    and the seed, so every task built from one source (with more or fewer recordings) puts the same
    recording in the same split: dry clips can be shared across tasks. A source too small to reach every
    split by this rule (under one block) gets the missing splits from its last training recordings, so
    every split has at least one.
    """
    ids = sorted(recording_ids, key=key)
    n = len(ids)
    if n < 3:
        raise ValueError(f"need at least 3 recordings to make train/validation/test splits, got {n}")
    size = _block_size(spec)
    n_train, n_val = round(spec.train * size), round(spec.validation * size)
    pattern = ["train"] * n_train + ["validation"] * n_val + ["test"] * (size - n_train - n_val)
    out = {}
    for block in range(0, (n + size - 1) // size):
        perm = np.random.default_rng([seed, 5821, block]).permutation(size)
        for slot, rid in enumerate(ids[block * size:(block + 1) * size]):
            out[rid] = pattern[perm[slot]]
    for split in ("test", "validation"):
        if split not in out.values():
            last_train = [r for r in ids if out[r] == "train"][-1]
            out[last_train] = split
    return out
