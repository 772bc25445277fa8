"""Chance baselines: what a model must beat before it means anything."""
from __future__ import annotations

from typing import Any

import numpy as np

from fxbench.dataset.split import SplitData
from fxbench.models import TrainConfig, register_model
from fxbench.task import TaskConfig


@register_model("random", "uniform random guesses in [0, 1] (the paper's chance baseline, expected MAE ~1/3)")
class RandomGuess:
    """Uniform guesses, seeded: the paper's chance baseline."""

    inputs = ("wet", "paired")  # x is never read

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        self.task, self.config = task, config

    def fit(self, train: SplitData, validation: SplitData) -> None:
        pass

    def predict(self, data: SplitData) -> np.ndarray:
        rng = np.random.default_rng(self.config.seed)
        return rng.uniform(0.0, 1.0, size=(len(data), len(self.task.parameters))).astype(np.float32)

    def hyperparameters(self) -> dict[str, Any]:
        return {"seed": self.config.seed, "distribution": "uniform[0, 1]"}


@register_model("mean", "predicts the training-set mean of each parameter")
class TrainingMean:
    """The training mean: the best constant under MSE, a floor any learnt model must clear."""

    inputs = ("wet", "paired")  # x is never read

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        self.task, self.config = task, config
        self.mean: np.ndarray | None = None

    def fit(self, train: SplitData, validation: SplitData) -> None:
        self.mean = train.y.mean(axis=0).astype(np.float32)

    def predict(self, data: SplitData) -> np.ndarray:
        return np.repeat(self.mean[None, :], len(data), axis=0)

    def hyperparameters(self) -> dict[str, Any]:
        return {"statistic": "mean", "value": None if self.mean is None else [float(v) for v in self.mean]}
