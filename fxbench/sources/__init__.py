"""Source audio: where dry recordings come from, selected by ``--source``.

``synth`` (default) is embedded and needs no download. ``folder:PATH`` reads a
folder of audio files (coming in a later release; a clear error until then).
"""
from __future__ import annotations

import math
from pathlib import Path

from fxbench.errors import FxbenchError
from fxbench.sources.base import Recording, Source
from fxbench.task import TaskConfig

SOURCE_KINDS = ("synth", "folder:PATH")

__all__ = ["Recording", "Source", "open_source", "SOURCE_KINDS"]


def open_source(spec: str, task: TaskConfig, seed: int) -> Source:
    """Parse a ``--source`` value into a source sized for ``task``."""
    kind, _, arg = spec.partition(":")
    if kind == "synth" and not arg:
        from fxbench.sources.synth import SynthSource

        per_rec = task.dataset.clips_per_recording
        return SynthSource(seed=seed, n_recordings=math.ceil(task.dataset.clips / per_rec),
                           seconds=per_rec * task.clip_seconds, sample_rate=task.sample_rate)
    if kind == "folder":
        if not arg:
            raise FxbenchError("--source folder:PATH needs a path, e.g. --source folder:~/guitar-di", exit_code=2)
        path = Path(arg).expanduser()
        if not path.is_dir():
            raise FxbenchError(f"source folder {arg} does not exist; pass an existing folder of audio files",
                               exit_code=2)
        raise FxbenchError("--source folder:PATH is not available yet in this fxbench version; "
                           "use --source synth (the default)", exit_code=2)
    raise FxbenchError(f"unknown source {spec!r}; valid sources: {', '.join(SOURCE_KINDS)}", exit_code=2)
