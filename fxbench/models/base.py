"""The model interface: construct with (task, config), fit on train + validation, predict scaled parameters."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fxbench.dataset.split import SplitData


@dataclass
class TrainConfig:
    """Training settings; the defaults are the paper's (section 3.1.1)."""

    epochs: int = 30
    lr: float = 1e-4
    batch_size: int = 16
    step_size: int = 5       # StepLR: halve the learning rate every 5 epochs
    gamma: float = 0.5
    seed: int = 0
    device: str = "auto"     # auto = cuda when available, else cpu
    pretrained: bool = False  # timm/smp backbones: download ImageNet weights (needs network)
    progress: bool = True    # draw progress bars (not a hyperparameter)

    def hyperparameters(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("progress")
        return d


@runtime_checkable
class Model(Protocol):
    """What fxbench needs from a model. Register a class with ``@register_model("name")``.

    The class is built as ``cls(task, config)`` with a ``TaskConfig`` and a ``TrainConfig``.
    ``fit`` sees train and validation with labels (``y``); ``predict`` sees a split whose ``y`` is
    None and returns an (n, n_params) float array of parameters scaled to [0, 1], in the task's
    parameter order. ``hyperparameters`` returns every setting that affects the result; it goes
    into the result record. A ``history`` attribute (list of per-epoch dicts) is recorded if present.
    """

    def fit(self, train: SplitData, validation: SplitData) -> None: ...

    def predict(self, data: SplitData) -> np.ndarray: ...

    def hyperparameters(self) -> dict[str, Any]: ...
