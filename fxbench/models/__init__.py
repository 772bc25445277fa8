"""Models: the interface every submission implements, the registry, and a shared torch trainer."""
from fxbench.models.base import Model, TrainConfig
from fxbench.models.registry import available_models, create_model, register_model

__all__ = ["Model", "TrainConfig", "available_models", "create_model", "register_model"]
