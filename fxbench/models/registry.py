"""One registry of models: ``@register_model("name")`` in a file under baselines/ is all it takes.

Names ending in ``:`` register a family (e.g. ``timm:`` gets ``timm:resnet18``); the factory
then receives the part after the colon as ``variant``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from fxbench.errors import FxbenchError, did_you_mean

_REGISTRY: dict[str, "ModelEntry"] = {}
_DISCOVERED = False


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    description: str


def register_model(name: str, description: str = "") -> Callable:
    """Class or factory decorator; the factory is called as ``factory(task, config[, variant=...])``."""

    def deco(factory: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise FxbenchError(f"model {name!r} is registered twice ({_REGISTRY[name].factory.__module__} and "
                               f"{factory.__module__}); rename one")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, factory, description or (doc[0] if doc else ""))
        return factory

    return deco


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import fxbench.baselines as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")


def available_models() -> dict[str, ModelEntry]:
    _discover()
    return dict(sorted(_REGISTRY.items()))


def create_model(name: str, task: Any, config: Any) -> Any:
    """Build model ``name`` for ``task``; an unknown name is an error listing the valid ones."""
    models = available_models()
    if name in models:
        return models[name].factory(task, config)
    family, sep, variant = name.partition(":")
    if sep and f"{family}:" in models:
        return models[f"{family}:"].factory(task, config, variant=variant)
    raise FxbenchError(f"unknown model {name!r}.{did_you_mean(name, list(models))}", exit_code=2)


def check_model_name(name: str) -> None:
    """Fail fast on an unknown name, before any data is built."""
    models = available_models()
    family, sep, _ = name.partition(":")
    if name not in models and not (sep and f"{family}:" in models):
        raise FxbenchError(f"unknown model {name!r}.{did_you_mean(name, list(models))}", exit_code=2)
