"""Pretrained weights are an opt-in (``--pretrained``): fxbench never downloads at run time by default."""
from __future__ import annotations

from typing import Any, Callable

from fxbench.errors import FxbenchError


def load_pretrained(create: Callable[[], Any], what: str) -> Any:
    """Build with downloaded weights, turning the many offline failures into one clear line."""
    try:
        return create()
    except Exception as exc:  # network, hub and cache errors come in many types
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise FxbenchError(f"could not get pretrained weights for {what} ({type(exc).__name__}: {first}); "
                           f"check the network, or drop --pretrained to train from random weights") from None
