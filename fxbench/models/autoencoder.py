"""The paper's spectrogram encoder-decoder (figure 3), with or without U-Net skip connections.

The encoder is ``cnn-meanmax``'s downsampler (stride-2 3x3 convolutions, batch norm, ReLU); the
decoder mirrors it with stride-2 transposed convolutions back to the input's size and a sigmoid
(dry spectrograms are min-max scaled to [0, 1]). With ``skips`` every decoder level also sees the
encoder level of the same size (the input itself at the top), merged by a 1x1 convolution: a U-Net.
The feature vector is the bottleneck pooled like ``cnn-meanmax``'s (8 frequency bands, mean and max
over time), so that the linear head of every model reads the same kind of summary. (A U-Net must
downsample time to have a bottleneck, so ``cnn``'s frame-level autocorrelation pooling does not fit it.)
"""
from __future__ import annotations

from typing import Any

from fxbench.models.base import TrainConfig
from fxbench.models.layers import conv_bn_relu
from fxbench.models.transfer import ReconstructionRegressor, pad_time
from fxbench.task import TaskConfig

WIDTHS = (16, 32, 64, 128)
BANDS = 8


def build_autoencoder(n_outputs: int, skips: bool, widths: tuple[int, ...] = WIDTHS):
    import torch
    from torch import nn

    def block(ci: int, co: int) -> nn.Sequential:
        return nn.Sequential(*conv_bn_relu(ci, co))

    def up(ci: int, co: int) -> nn.Sequential:
        return nn.Sequential(*conv_bn_relu(ci, co, kernel=2, stride=2, padding=0, transposed=True))

    class EncoderDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (1, *widths)
            self.down = nn.ModuleList(block(chans[i], chans[i + 1]) for i in range(len(widths)))
            # decoder level i takes chans[i+1] channels up to the size of encoder level i (chans[i])
            self.up = nn.ModuleList(up(chans[i + 1], max(chans[i], 8)) for i in reversed(range(len(widths))))
            self.merge = nn.ModuleList(
                nn.Conv2d(max(chans[i], 8) + chans[i], max(chans[i], 8), 1) if skips else nn.Identity()
                for i in reversed(range(len(widths))))
            self.out = nn.Conv2d(max(chans[0], 8), 1, 3, padding=1)
            self.bands = nn.AdaptiveAvgPool2d((BANDS, None))
            self.head = nn.Linear(widths[-1] * BANDS * 2, n_outputs)

        def forward(self, x):
            t = x.shape[-1]
            h = pad_time(x, 2 ** len(widths))
            levels = [h]
            for layer in self.down:
                h = layer(h)
                levels.append(h)
            b = self.bands(h)
            feats = torch.cat([b.mean(dim=-1), b.amax(dim=-1)], dim=1).flatten(1)
            for up_layer, merge, skip in zip(self.up, self.merge, reversed(levels[:-1])):
                h = up_layer(h)
                if skips:
                    h = merge(torch.cat([h, skip], dim=1))
            recon = torch.sigmoid(self.out(h))[..., :t]
            return recon, feats

    return EncoderDecoder()


def describe(skips: bool) -> dict:
    """The architecture in words, for the result record."""
    kind = "U-Net (skip at every level, 1x1 merge)" if skips else "encoder-decoder (no skips)"
    return {"architecture": f"{kind}: 4x [conv3x3 s2, BN, ReLU] {list(WIDTHS)} -> 4x [convT2x2 s2, BN, ReLU] "
                            f"-> conv3x3 -> sigmoid; head: linear on the bottleneck pooled to 8 bands (mean+max "
                            f"over time)", "widths": list(WIDTHS)}


class AutoencoderRegressor(ReconstructionRegressor):
    """The paper's transfer protocol on this network; subclasses only say whether it has skips."""

    skips = False

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        super().__init__(task, config, mode="transfer")

    def build_network(self):
        return build_autoencoder(self.n_outputs, skips=self.skips)

    def network_hyperparameters(self) -> dict[str, Any]:
        return describe(skips=self.skips)
