"""Building blocks shared by the torch baselines (kept as plain module lists, so a network's state-dict
keys are the same whether it spreads a block into one Sequential or wraps each block in its own)."""
from __future__ import annotations

from typing import Any


def conv_bn_relu(ci: int, co: int, kernel: Any = 3, stride: Any = 2, padding: Any = 1,
                 transposed: bool = False) -> list:
    """[conv (no bias: batch norm follows), batch norm, ReLU]: a strided downsampling step by default."""
    from torch import nn

    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [conv(ci, co, kernel, stride=stride, padding=padding, bias=False), nn.BatchNorm2d(co),
            nn.ReLU(inplace=True)]
