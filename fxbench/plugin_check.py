"""Checks of a task's effect against the plugin itself, at load: a name pedalboard lacks, a setting the
plugin has no knob for, or a range end it refuses would otherwise surface only in a build's workers.

Each pedalboard plugin is built, and run on a short tone, at both ends of every parameter's span (the
grid's extreme values, or the range of a sampled parameter), the other parameters at their low end.
"""
from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np

from fxbench.schema_errors import invalid

if TYPE_CHECKING:
    from fxbench.task import TaskConfig

_GENERIC = {"is_effect", "is_instrument"}  # properties every plugin has, not knobs


def _plugin_classes() -> dict[str, type]:
    import pedalboard

    return {n: c for n, c in vars(pedalboard).items()
            if isinstance(c, type) and issubclass(c, pedalboard.Plugin) and c is not pedalboard.Plugin}


def settings_of(cls: type) -> list[str]:
    """The knobs of a pedalboard plugin: its properties, less the ones every plugin has."""
    return sorted(n for n in dir(cls) if not n.startswith("_") and n not in _GENERIC
                  and isinstance(getattr(cls, n), property))


def _ends(task: TaskConfig) -> list[tuple[int, dict[str, float]]]:
    """(index of the parameter at an end, settings) for the low and high end of each parameter."""
    spans = [p.range if p.is_sampled else (min(p.grid), max(p.grid)) for p in task.parameters]
    low = {p.name: float(s[0]) for p, s in zip(task.parameters, spans)}
    return [(i, {**low, p.name: float(end)}) for i, (p, s) in enumerate(zip(task.parameters, spans)) for end in s]


def check_effect(task: TaskConfig) -> None:
    """Raise the schema's one-line error for a plugin, setting or range end the effect cannot take."""
    from fxbench.render import _custom_effects

    plugin = task.effect.plugin
    if plugin in _custom_effects():
        return  # fxbench's own effects check their settings when made
    classes = _plugin_classes()
    if plugin not in classes:
        close = difflib.get_close_matches(plugin, list(classes), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "name a pedalboard plugin class such as Distortion"
        raise invalid("effect.plugin", f"{plugin!r} is neither a pedalboard plugin nor an fxbench effect", hint)
    cls = classes[plugin]
    knobs = settings_of(cls)
    for key in task.effect.fixed:
        if key not in knobs:
            raise invalid(f"effect.fixed.{key}", f"{plugin} has no setting {key!r} (settings: {', '.join(knobs)})",
                          "rename or remove it")
    for i, p in enumerate(task.parameters):
        if p.name not in knobs:
            raise invalid(f"parameters[{i}].name", f"{plugin} has no setting {p.name!r} (settings: "
                          f"{', '.join(knobs)})", "name the parameter after one of them")
        if p.name in task.effect.fixed:
            raise invalid(f"effect.fixed.{p.name}", f"{p.name!r} is both fixed and a parameter", "remove it here")
    tone = (0.5 * np.sin(np.arange(512) * 0.05)).astype(np.float32)[None]
    for i, point in _ends(task):
        p = task.parameters[i]
        field = f"parameters[{i}].range" if p.is_sampled else f"parameters[{i}].grid"
        try:
            wet = cls(**task.effect.fixed, **point)(tone, task.sample_rate, reset=True)
        except TypeError as exc:
            raise invalid("effect.fixed", f"{plugin} refused the settings ({str(exc).splitlines()[0]})",
                          "give each setting a value of the plugin's type") from None
        except (ValueError, RuntimeError) as exc:
            raise invalid(field, f"{plugin} refuses {p.name} = {point[p.name]:g} ({str(exc).splitlines()[0]})",
                          "keep the values within what the plugin accepts") from None
        if not np.isfinite(wet).all():
            raise invalid(field, f"{plugin} gives non-finite audio at {p.name} = {point[p.name]:g}",
                          "narrow the range")
