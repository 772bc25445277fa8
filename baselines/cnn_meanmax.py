"""fxbench's first CNN: Conv2D downsampling layers, then mean and max over time, then a linear output.

It was ``cnn`` until the delay task showed what mean/max pooling loses (see ``cnn.py`` and the
leaderboard notes); it stays as the plain reading of the paper's figure 2, for comparison."""
from __future__ import annotations

from typing import Any

from fxbench.models import register_model
from fxbench.models.layers import conv_bn_relu
from fxbench.models.torch_model import TorchRegressor

WIDTHS = (16, 32, 64, 128)


def build_cnn_meanmax(n_outputs: int, widths: tuple[int, ...] = WIDTHS, hidden: int = 128, dropout: float = 0.2,
                      in_channels: int = 1):
    """Four stride-2 3x3 conv blocks (each halves frequency and time), then time pooling and an MLP.

    Time is pooled (mean and max) but frequency is kept (8 bands after four halvings): where in the
    spectrum energy sits is what tells a 12-bit noise floor from a 14-bit one.
    """
    import torch
    from torch import nn

    class PaperCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, ci = [], in_channels
            for co in widths:
                layers += conv_bn_relu(ci, co)
                ci = co
            self.features = nn.Sequential(*layers)
            self.bands = nn.AdaptiveAvgPool2d((8, None))
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(ci * 8 * 2, hidden), nn.ReLU(inplace=True),
                                      nn.Dropout(dropout), nn.Linear(hidden, n_outputs))

        def forward(self, x):
            h = self.bands(self.features(x))                    # (B, C, 8, T')
            pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)  # (B, 2C, 8)
            return self.head(pooled)

    return PaperCNN()


@register_model("cnn-meanmax", "the plain CNN: downsampling convs, mean+max over time, linear output")
class MeanMaxCNN(TorchRegressor):
    """Trained exactly like ``cnn``; only the network differs."""

    inputs = ("wet", "paired")

    def build_network(self):
        return build_cnn_meanmax(self.n_outputs, in_channels=self.in_channels)

    def network_hyperparameters(self) -> dict[str, Any]:
        return {"architecture": "4x [conv3x3 stride 2, batchnorm, relu] -> band pool (8) -> mean+max over time "
                                "-> fc 128 -> dropout 0.2 -> fc", "widths": list(WIDTHS)}
