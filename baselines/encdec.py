"""The paper's encoder-decoder with transfer learning (sections 3.1 and 4.2.2)."""
from __future__ import annotations

from fxbench.models import register_model
from fxbench.models.autoencoder import AutoencoderRegressor


@register_model("encdec", "the paper's encoder-decoder: wet->dry reconstruction (L2), then frozen encoder + "
                          "linear head (L1)")
class EncoderDecoder(AutoencoderRegressor):
    """Without skip connections everything the decoder needs passes through the bottleneck, which the
    frozen head then reads."""

    skips = False
