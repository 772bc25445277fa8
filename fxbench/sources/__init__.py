"""Source audio: where dry recordings come from, selected by ``--source``.

``synth`` (default) is embedded and needs no download; ``folder:PATH`` reads every audio file
under a folder (one file = one recording); ``guitarset:PATH`` reads a local copy of GuitarSet and
splits it by player.
"""
from __future__ import annotations

import math
from pathlib import Path

from fxbench.errors import FxbenchError
from fxbench.sources.base import Recording, Source
from fxbench.task import TaskConfig

SOURCE_KINDS = ("synth", "folder:PATH", "guitarset:PATH")

__all__ = ["Recording", "Source", "open_source", "SOURCE_KINDS"]


def open_source(spec: str, task: TaskConfig, seed: int) -> Source:
    """Parse a ``--source`` value into a source sized for ``task``."""
    kind, _, arg = spec.partition(":")
    if kind == "synth" and not arg:
        from fxbench.sources.synth import SynthSource

        per_rec = task.dataset.clips_per_recording
        # a quarter more recordings than clips need: each split's budget is then always met, whatever the
        # blocks gave it (unused recordings are never synthesised)
        return SynthSource(seed=seed, n_recordings=math.ceil(task.dataset.clips / per_rec * 1.25) + 10,
                           seconds=per_rec * task.clip_seconds, sample_rate=task.sample_rate)
    if kind == "folder":
        if not arg:
            raise FxbenchError("--source folder:PATH needs a path, e.g. --source folder:~/guitar-di", exit_code=2)
        from fxbench.sources.folder import FolderSource

        return FolderSource(Path(arg).expanduser(), sample_rate=task.sample_rate, min_seconds=task.clip_seconds)
    if kind == "guitarset":
        from fxbench.sources.guitarset import HOW_TO_GET, GuitarSetSource

        if not arg:
            raise FxbenchError(f"--source guitarset:PATH needs a path; {HOW_TO_GET}", exit_code=2)
        return GuitarSetSource(Path(arg).expanduser(), sample_rate=task.sample_rate, min_seconds=task.clip_seconds)
    raise FxbenchError(f"unknown source {spec!r}; valid sources: {', '.join(SOURCE_KINDS)}", exit_code=2)
