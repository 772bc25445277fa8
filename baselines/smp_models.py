"""segmentation-models-pytorch encoder-decoders: ``--model smp:ARCH-ENCODER`` (e.g. smp:unet-resnet18,
smp:fpn-efficientnet-b0), the paper's "detachable decoder" on a standard backbone.

The decoder is trained wet->dry on spectrograms and smp's auxiliary classification head (pooled deepest
encoder features -> linear) regresses the parameters. By default both train jointly (L2 + L1);
``smp:ARCH-ENCODER+transfer`` follows the paper instead: reconstruction first, then the encoder frozen
and only the head trained. ``encoder_weights=None`` unless ``--pretrained`` (ImageNet).
"""
from __future__ import annotations

from typing import Any

from fxbench.errors import FxbenchError, did_you_mean
from fxbench.models import TrainConfig, register_model
from fxbench.models.transfer import ReconstructionRegressor, pad_time
from fxbench.models.weights import load_pretrained
from fxbench.task import TaskConfig

PRETRAINED_WEIGHTS = "imagenet"  # what --pretrained asks smp for; never used without it
SPEC_HELP = "give smp:ARCH-ENCODER[+transfer], e.g. smp:unet-resnet18 or smp:fpn-efficientnet-b0+transfer"


def parse_variant(variant: str) -> tuple[str, str, str]:
    """'unet-resnet18+transfer' -> ('unet', 'resnet18', 'transfer'); architecture names have no hyphen."""
    import segmentation_models_pytorch as smp

    body, _, mode = variant.partition("+")
    arch, _, encoder = body.partition("-")
    arches = sorted(a.lower() for a in smp.MODEL_ARCHITECTURES_MAPPING)
    if not arch or not encoder:
        raise FxbenchError(f"smp model {variant!r} is incomplete; {SPEC_HELP}", exit_code=2)
    if arch.lower() not in arches:
        raise FxbenchError(f"smp has no architecture {arch!r}.{did_you_mean(arch, arches)} Known: "
                           f"{', '.join(arches)}", exit_code=2)
    encoders = smp.encoders.get_encoder_names()
    if encoder not in encoders:
        raise FxbenchError(f"smp has no encoder {encoder!r}.{did_you_mean(encoder, encoders, list_all=False)} "
                           f"{SPEC_HELP}; smp.encoders.get_encoder_names() lists them", exit_code=2)
    mode = mode or "joint"
    if mode not in ("joint", "transfer"):
        raise FxbenchError(f"smp model mode {mode!r} is unknown; use +transfer or nothing (joint)", exit_code=2)
    return arch.lower(), encoder, mode


@register_model("smp:", "segmentation-models-pytorch encoder-decoder (smp:ARCH-ENCODER[+transfer]), wet->dry "
                        "with its auxiliary head regressing the parameters")
class SmpRegressor(ReconstructionRegressor):
    """smp model whose forward returns (dry estimate, pooled deepest encoder features)."""

    validate_variant = staticmethod(parse_variant)  # resolve_model calls it before any data is built
    inputs = ("wet", "paired")  # paired: the dry channel makes the reconstruction stage easy, not the head's job

    def __init__(self, task: TaskConfig, config: TrainConfig, variant: str = "") -> None:
        arch, encoder, mode = parse_variant(variant)
        super().__init__(task, config, mode=mode)
        self.arch, self.encoder = arch, encoder

    def build_network(self):
        import segmentation_models_pytorch as smp
        import torch
        from torch import nn

        def create(weights: str | None = None):
            return smp.create_model(self.arch, encoder_name=self.encoder, encoder_weights=weights,
                                    in_channels=self.in_channels, classes=1,
                                    aux_params={"classes": self.n_outputs, "pooling": "avg", "dropout": 0.0,
                                                "activation": None})

        if self.config.pretrained:  # opt-in only: downloads ImageNet weights
            model = load_pretrained(lambda: create(PRETRAINED_WEIGHTS), f"smp:{self.arch}-{self.encoder}")
        else:
            model = create()  # random weights, no network
        stride = int(getattr(model.encoder, "output_stride", 32))

        class Detachable(nn.Module):
            """Decoder path for the reconstruction, smp's aux head (its linear layer) for the parameters."""

            def __init__(self) -> None:
                super().__init__()
                self.model = model
                self.pool = nn.Sequential(*list(model.classification_head)[:2])  # avg pool + flatten
                self.head = model.classification_head[3]

            def forward(self, x):
                t = x.shape[-1]
                h = pad_time(x, stride)
                extra_f = (-h.shape[-2]) % stride
                if extra_f:
                    h = torch.nn.functional.pad(h, (0, 0, 0, extra_f))
                features = self.model.encoder(h)
                decoded = self.model.decoder(features)
                recon = torch.sigmoid(self.model.segmentation_head(decoded))[..., :x.shape[-2], :t]
                return recon, self.pool(features[-1])

        return Detachable()

    def network_hyperparameters(self) -> dict[str, Any]:
        import segmentation_models_pytorch as smp

        return {"backbone": f"smp:{self.arch}-{self.encoder}", "smp_version": smp.__version__, "in_channels": self.in_channels,
                "encoder_weights": PRETRAINED_WEIGHTS if self.config.pretrained else None,  # None: random
                "head": "smp aux head: global avg pool of the deepest encoder features -> linear",
                "recon_output": "sigmoid of the segmentation head (dry spectrogram in [0, 1])"}
