"""Source audio: where dry recordings come from, selected by ``--source name[:ARG]``.

Every source registers itself in its own module (``fxbench.sources.registry``); ``fxbench sources``
lists them. ``synth`` (default) is embedded and needs no download; the real ones read recordings.
"""
from __future__ import annotations

from typing import Optional

from fxbench.errors import FxbenchError
from fxbench.sources.base import Recording, Source
from fxbench.task import TaskConfig

__all__ = ["Recording", "Source", "open_source", "default_clips_per_recording"]


def default_clips_per_recording(task: TaskConfig, kind: str) -> int:
    """Synthetic recordings are cheap, so a few clips each; real ones are long and few, so many each."""
    return task.dataset.real_clips_per_recording if kind == "real" else task.dataset.clips_per_recording


def open_source(spec: str, task: TaskConfig, seed: int, clips_per_recording: Optional[int] = None) -> Source:
    """Parse a ``--source`` value into a source sized for ``task``.

    ``clips_per_recording`` overrides the task's default for the source's kind; the value used is kept on
    the source (``source.clips_per_recording``), where the clip policy and so the fingerprint find it."""
    from fxbench.sources.registry import parse_source_spec

    if clips_per_recording is not None and clips_per_recording < 1:
        raise FxbenchError(f"--clips-per-recording must be at least 1, got {clips_per_recording}", exit_code=2)
    entry, arg = parse_source_spec(spec)
    per_recording = clips_per_recording or default_clips_per_recording(task, entry.kind)
    source = entry.factory(task, seed, arg, per_recording)
    source.clips_per_recording = per_recording
    return source
