"""Any timm image model as a regressor: ``--model timm:NAME`` (e.g. timm:resnet18, timm:convnext_atto).

The spectrogram is an image of one channel (two on the paired track), so the model is created with that
``in_chans`` and one output per
parameter. Weights are random unless ``--pretrained`` is given: fxbench never downloads at run time by
default, and ImageNet weights are an opt-in for users with network (timm folds the RGB stem into one
channel for them).
"""
from __future__ import annotations

from typing import Any

from fxbench.errors import FxbenchError, did_you_mean
from fxbench.models import TrainConfig, register_model
from fxbench.models.torch_model import TorchRegressor
from fxbench.models.weights import load_pretrained
from fxbench.task import TaskConfig


def check_timm_name(name: str) -> None:
    import timm

    if not name:
        raise FxbenchError("timm: needs a model name, e.g. --model timm:resnet18 (see timm.list_models())",
                           exit_code=2)
    if not timm.is_model(name):
        raise FxbenchError(f"timm has no model {name!r}.{did_you_mean(name, timm.list_models(), list_all=False)} "
                           f"See timm.list_models() for the names", exit_code=2)


@register_model("timm:", "any timm image model (timm:NAME), one channel per input, random weights unless --pretrained")
class TimmRegressor(TorchRegressor):
    """A timm backbone with a regression head, trained like the CNN (L1, Adam, StepLR)."""

    validate_variant = staticmethod(check_timm_name)  # resolve_model calls it before any data is built
    inputs = ("wet", "paired")

    def __init__(self, task: TaskConfig, config: TrainConfig, variant: str = "") -> None:
        super().__init__(task, config)
        check_timm_name(variant)
        self.variant = variant

    def build_network(self):
        import timm

        def create():
            return timm.create_model(self.variant, pretrained=self.config.pretrained, in_chans=self.in_channels,
                                     num_classes=self.n_outputs)

        return load_pretrained(create, f"timm:{self.variant}") if self.config.pretrained else create()

    def network_hyperparameters(self) -> dict[str, Any]:
        import timm

        return {"backbone": f"timm:{self.variant}", "timm_version": timm.__version__, "in_chans": self.in_channels,
                "weights": "pretrained (timm default tag)" if self.config.pretrained else "random"}
