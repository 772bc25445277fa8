"""What a model sees of one split: features, ids and (except at predict time) scaled targets."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np


@dataclass
class SplitData:
    """One split of a task, in memory.

    ``x`` is the wet Mel spectrogram, (n, 1, n_mels, n_frames) float32 in [0, 1]; on the paired input
    track (``fxbench/inputs.py``) it is (n, 2, n_mels, n_frames), wet then dry.
    ``y`` holds the parameters scaled to [0, 1], (n, n_params) float32; it is
    ``None`` when the split is handed to ``Model.predict`` so that test labels
    never reach a submission.
    ``dry_x`` maps clip ids to the dry clips' spectrograms, for models that
    learn a reconstruction (the dry clip is stored once, not once per render).
    """

    name: str
    ids: list[str]
    clip_ids: list[str]
    recording_ids: list[str]
    grid_index: np.ndarray
    x: np.ndarray
    y: Optional[np.ndarray] = None
    dry_x: Optional[Callable[[list[str]], np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.ids)

    def without_labels(self) -> "SplitData":
        """What a model may see at predict time: no targets, and no dry clips (they would give the answer
        away by difference)."""
        return replace(self, y=None, dry_x=None)

    @classmethod
    def concat(cls, parts: list["SplitData"], name: str) -> "SplitData":
        """Several splits as one (scoring every row of a source the model never saw)."""
        ys = [p.y for p in parts]
        return cls(name=name, ids=[i for p in parts for i in p.ids], clip_ids=[c for p in parts for c in p.clip_ids],
                   recording_ids=[r for p in parts for r in p.recording_ids],
                   grid_index=np.concatenate([p.grid_index for p in parts]),
                   x=np.concatenate([p.x for p in parts]),
                   y=None if any(y is None for y in ys) else np.concatenate(ys), dry_x=parts[0].dry_x)

    def subset(self, index: np.ndarray) -> "SplitData":
        """Rows ``index`` (used by tests and quick runs)."""
        index = np.asarray(index)
        pick = lambda seq: [seq[i] for i in index]  # noqa: E731
        return replace(self, ids=pick(self.ids), clip_ids=pick(self.clip_ids),
                       recording_ids=pick(self.recording_ids), grid_index=self.grid_index[index],
                       x=self.x[index], y=None if self.y is None else self.y[index])
