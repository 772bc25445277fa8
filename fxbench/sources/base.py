"""What every audio source hands to the dataset builder: whole dry recordings.

A source yields *recordings*, never clips, so that the builder can keep every
clip of a recording (and all its renders) in a single split.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Recording:
    """One dry mono recording at the task sample rate."""

    recording_id: str
    audio: np.ndarray  # float32, shape (n_samples,), roughly in [-1, 1]
    sample_rate: int
    meta: dict[str, Any] = field(default_factory=dict)  # player, key, style, tempo...


@runtime_checkable
class Source(Protocol):
    """A deterministic provider of dry recordings."""

    name: str

    def spec(self) -> dict[str, Any]:
        """Everything that determines the audio; hashed into the dataset fingerprint."""
        ...

    def recording_ids(self) -> list[str]:
        """Every recording's id, cheaply (splits are assigned before any audio is made)."""
        ...

    def load(self, recording_id: str) -> Recording:
        """One recording, on demand, so that a build never holds the whole source in memory."""
        ...

    # Optional: ``fixed_splits() -> {id: split}`` for sources with a canonical split (GuitarSet's players),
    # and ``split_key(id)`` to order ids for split assignment when their sort order depends on the size.
    # ``open_source`` sets ``clips_per_recording`` on the source it makes: the clip policy reads it there.
