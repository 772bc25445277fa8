"""The paper's encoder-decoder with transfer learning (sections 3.1 and 4.2.2)."""
from __future__ import annotations

from typing import Any

from fxbench.models import TrainConfig, register_model
from fxbench.models.autoencoder import build_autoencoder, describe
from fxbench.models.transfer import ReconstructionRegressor
from fxbench.task import TaskConfig


@register_model("encdec", "the paper's encoder-decoder: wet->dry reconstruction (L2), then frozen encoder + "
                          "linear head (L1)")
class EncoderDecoder(ReconstructionRegressor):
    """Without skip connections everything the decoder needs passes through the bottleneck, which the
    frozen head then reads."""

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        super().__init__(task, config, mode="transfer")

    def build_network(self):
        return build_autoencoder(self.n_outputs, skips=False)

    def network_hyperparameters(self) -> dict[str, Any]:
        return describe(skips=False)
