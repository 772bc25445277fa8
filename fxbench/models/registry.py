"""One registry of models, whatever their origin.

A model spec is resolved, in order, as:
- a registered name: ``@register_model("name")`` in a file under baselines/ (found automatically);
  names ending in ``:`` register a family (``timm:`` gets ``timm:resnet18``, the factory receiving
  ``variant="resnet18"``; a ``validate_variant(variant)`` on the factory is called at resolve time, so a
  bad backbone name fails before any data is built);
- an entry point in the ``fxbench.models`` group of an installed package (``name = "pkg.module:Class"``);
- ``path/to/file.py:ClassName``: a class in a file of the user's;
- ``package.module:ClassName``: a class in an importable module.
Whatever the route, the class is built as ``cls(task, config)``.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fxbench.errors import FxbenchError, did_you_mean

ENTRY_POINT_GROUP = "fxbench.models"
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
        _REGISTRY[name] = ModelEntry(name, factory, description or _first_line(factory.__doc__))
        return factory

    return deco


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    import fxbench.baselines as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    _DISCOVERED = True


def available_models() -> dict[str, ModelEntry]:
    """Built-in models and those installed packages register; entry points load only when used."""
    _discover()
    models = dict(_REGISTRY)
    for name, ep in _entry_points().items():
        if name not in models:
            models[name] = ModelEntry(name, lambda task, config, _ep=ep: _load_entry_point(_ep)(task, config),
                                      f"from installed package ({ep.value})")
    return dict(sorted(models.items()))


def _load_entry_point(ep: Any) -> Callable:
    try:
        return ep.load()
    except Exception as exc:  # a third-party import can fail in any way; name it
        raise FxbenchError(f"model {ep.name!r} from entry point {ep.value} failed to load "
                           f"({type(exc).__name__}: {exc}); fix or uninstall that package") from None


def _from_file(path_text: str, attr: str) -> Callable:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise FxbenchError(f"model file {path_text} not found; give path/to/file.py:ClassName", exit_code=2)
    module_name = f"fxbench_user_{path.stem}_{abs(hash(str(path.resolve()))):x}"
    if module_name in sys.modules:  # resolved before in this process: don't run (and register) it twice
        return _attr(sys.modules[module_name], attr, path_text)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise FxbenchError(f"{path_text} failed to import ({type(exc).__name__}: {exc}); fix the file") from None
    return _attr(module, attr, path_text)


def _from_module(module_name: str, attr: str) -> Callable:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FxbenchError(f"cannot import module {module_name!r} ({exc}); install it or use "
                           f"path/to/file.py:ClassName", exit_code=2) from None
    return _attr(module, attr, module_name)


def _attr(module: Any, attr: str, where: str) -> Callable:
    if not attr or not hasattr(module, attr):
        names = sorted(n for n in dir(module) if not n.startswith("_") and isinstance(getattr(module, n), type))
        raise FxbenchError(f"{where} has no class {attr!r}.{did_you_mean(attr, names)}", exit_code=2)
    return getattr(module, attr)


def resolve_model(spec: str) -> tuple[Callable[..., Any], str]:
    """Spec -> (factory(task, config), kind); unknown specs are an error listing the valid names."""
    models = available_models()
    if spec in models:
        return models[spec].factory, "registered"
    family, sep, variant = spec.partition(":")
    if sep and f"{family}:" in models:
        factory = models[f"{family}:"].factory
        check = getattr(factory, "validate_variant", None)
        if callable(check):  # a bad backbone name fails now, not after the dataset is built
            check(variant)
        return (lambda task, config: factory(task, config, variant=variant)), "registered"
    target, sep, attr = spec.rpartition(":")
    if sep and target.endswith(".py"):
        return _from_file(target, attr), "file"
    if sep and target and all(part.isidentifier() for part in target.split(".")):
        return _from_module(target, attr), "module"
    raise FxbenchError(f"unknown model {spec!r}.{did_you_mean(spec, list(models))} Or give "
                       f"path/to/file.py:ClassName or package.module:ClassName", exit_code=2)


def model_label(spec: str) -> str:
    """The name a model gets on the leaderboard: the spec, less any folders of a file path."""
    target, sep, attr = spec.rpartition(":")
    if sep and target.endswith(".py"):
        return f"{Path(target).stem}:{attr}"
    return spec


def create_model(spec: str, task: Any, config: Any) -> Any:
    """Build the model ``spec`` names for ``task``."""
    factory, _ = resolve_model(spec)
    return factory(task, config)
