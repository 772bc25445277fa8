"""The paper's U-Net with transfer learning (sections 3.1, 4.2.3 and 4.3.2)."""
from __future__ import annotations

from fxbench.models import register_model
from fxbench.models.autoencoder import AutoencoderRegressor


@register_model("unet", "the paper's U-Net: wet->dry reconstruction (L2), then frozen encoder + linear head on "
                        "the bottleneck (L1)")
class UNet(AutoencoderRegressor):
    """Skips let the decoder copy detail past the bottleneck, so the bottleneck the head reads need not
    hold the effect's trace: the paper's explanation-free finding that U-Net transfers worst."""

    skips = True
