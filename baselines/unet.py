"""The paper's U-Net with transfer learning (sections 3.1, 4.2.3 and 4.3.2)."""
from __future__ import annotations

from typing import Any

from fxbench.models import TrainConfig, register_model
from fxbench.models.autoencoder import build_autoencoder, describe
from fxbench.models.transfer import ReconstructionRegressor
from fxbench.task import TaskConfig


@register_model("unet", "the paper's U-Net: wet->dry reconstruction (L2), then frozen encoder + linear head on "
                        "the bottleneck (L1)")
class UNet(ReconstructionRegressor):
    """Skips let the decoder copy detail past the bottleneck, so the bottleneck the head reads need not
    hold the effect's trace: the paper's explanation-free finding that U-Net transfers worst."""

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        super().__init__(task, config, mode="transfer")

    def build_network(self):
        return build_autoencoder(self.n_outputs, skips=True)

    def network_hyperparameters(self) -> dict[str, Any]:
        return describe(skips=True)
