"""One registry of audio sources, so that a new source is one file under fxbench/sources/ and a decorator.

``@register_source("name", kind=..., licence=..., description=...)`` on a factory
``factory(task, seed, arg, clips_per_recording) -> Source`` registers it with its metadata: the card
takes the licence and credit from here, ``fxbench sources`` lists it and ``--source name[:ARG]`` opens it.
The modules of this package are imported on the first lookup, not at import, so ``fxbench --help``
never pays for numpy or pedalboard.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from fxbench.errors import FxbenchError, did_you_mean

KINDS = ("synth", "real")
_REGISTRY: dict[str, "SourceEntry"] = {}
_DISCOVERED = False
_NOT_SOURCES = {"base", "registry"}  # modules of this package that register nothing


@dataclass(frozen=True)
class SourceEntry:
    """A registered source and what a user, the card and the clip policy need to know about it."""

    name: str
    factory: Callable[..., Any]
    kind: str  # "synth": generated, a clip budget of recordings; "real": few long recordings, many clips each
    licence: str  # Hugging Face licence id of the audio, which the rendered data inherits
    description: str
    takes_path: bool = False  # --source name:PATH
    splits: str = "in seeded blocks of ten (8 train, 1 validation, 1 test at 80/10/10)"
    credit: str = ""  # attribution / citation the card repeats, when the licence asks for one
    path_hint: str = ""  # how to get or what to pass as PATH, shown when it is missing
    public_audio: bool = False  # anyone can get the recordings, so a blind test split of them protects nothing

    @property
    def usage(self) -> str:
        return f"{self.name}:PATH" if self.takes_path else self.name


def register_source(name: str, *, kind: str, licence: str, description: str, takes_path: bool = False,
                    splits: str | None = None, credit: str = "", path_hint: str = "",
                    public_audio: bool = False) -> Callable:
    """Factory decorator; ``factory(task, seed, arg, clips_per_recording)`` returns the source."""
    if kind not in KINDS:
        raise ValueError(f"source {name!r}: kind must be one of {KINDS}, got {kind!r}")

    def deco(factory: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise FxbenchError(f"source {name!r} is registered twice ({_REGISTRY[name].factory.__module__} and "
                               f"{factory.__module__}); rename one")
        extra = {"splits": splits} if splits else {}
        _REGISTRY[name] = SourceEntry(name, factory, kind, licence, description, takes_path, credit=credit,
                                      path_hint=path_hint, public_audio=public_audio, **extra)
        return factory

    return deco


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    import fxbench.sources as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name not in _NOT_SOURCES:
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    _DISCOVERED = True


def available_sources() -> dict[str, SourceEntry]:
    """Every registered source, by name."""
    _discover()
    return dict(sorted(_REGISTRY.items()))


def source_entry(name: str) -> SourceEntry | None:
    """The entry of a source by its name (a manifest's ``source.name``), or None for an unregistered one."""
    return available_sources().get(name)


def parse_source_spec(spec: str) -> tuple[SourceEntry, str | None]:
    """``name[:ARG]`` -> (entry, ARG or None); a typo gets a did-you-mean, a missing or stray ARG its fix."""
    name, sep, arg = spec.partition(":")
    sources = available_sources()
    entry = sources.get(name)
    if entry is None:
        usages = [e.usage for e in sources.values()]
        raise FxbenchError(f"unknown source {spec!r}.{did_you_mean(name, list(sources), list_all=False)} "
                           f"Valid: {', '.join(usages)} (see `fxbench sources`)", exit_code=2)
    if entry.takes_path and not arg:
        hint = entry.path_hint or f"e.g. --source {name}:~/recordings"
        raise FxbenchError(f"--source {name}:PATH needs a path; {hint}", exit_code=2)
    if not entry.takes_path and sep:
        raise FxbenchError(f"source {name!r} takes no argument; give --source {name}", exit_code=2)
    return entry, (arg or None)
