"""Where independent jobs run: one small interface, one file per executor (``@register_executor``).

A job is a picklable ``fn(payload) -> result``; ``run_jobs`` starts them, and calls ``on_done`` as each one
ends with its result or the exception it raised, so that one failed job never stops the others. The first
executor spec word picks the executor (``local``, ``local:2``, ``ray``, ``ray://HOST:PORT``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Sequence

from fxbench.errors import FxbenchError

Job = Callable[[dict], Any]
OnDone = Callable[[int, Any, Optional[BaseException]], None]  # (job index, result, error)


@dataclass(frozen=True)
class Resources:
    """What one job asks for; an executor that cannot reserve resources uses ``cpus`` as its thread count."""

    cpus: float = 1.0
    gpus: float = 0.0


class Executor(Protocol):
    name: str
    slots: int  # how many jobs run at once (an estimate on a cluster)

    def run_jobs(self, fn: Job, payloads: Sequence[dict], resources: Resources, on_start: Callable[[int], None],
                 on_done: OnDone) -> None: ...

    def close(self) -> None: ...


_EXECUTORS: dict[str, Callable[[str], Executor]] = {}


def register_executor(name: str) -> Callable:
    def deco(factory: Callable[[str], Executor]) -> Callable[[str], Executor]:
        _EXECUTORS[name] = factory
        return factory

    return deco


EXECUTOR_MODULES = ("fxbench.executors.local", "fxbench.executors.ray_cluster")


def _load() -> None:
    import importlib

    for module in EXECUTOR_MODULES:  # each registers itself; ray_cluster imports Ray only when opened
        importlib.import_module(module)


def open_executor(spec: str) -> Executor:
    """``local`` (one job at a time), ``local:N`` (N processes), ``ray`` (a local Ray, or RAY_ADDRESS),
    ``ray://HOST:PORT`` or ``ray:auto`` (an existing cluster)."""
    _load()
    name = "ray" if spec.startswith("ray://") else spec.partition(":")[0]
    if name not in _EXECUTORS:
        raise FxbenchError(f"--executor {spec}: unknown executor; use one of {', '.join(sorted(_EXECUTORS))} "
                           f"(local, local:N, ray, ray://HOST:PORT)", exit_code=2)
    return _EXECUTORS[name](spec)
