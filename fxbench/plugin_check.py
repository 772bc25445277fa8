"""Checks of a task's effect against the plugins themselves, at load: a name pedalboard lacks, a setting the
plugin has no knob for, or a range end it refuses would otherwise surface only in a build's workers.

Each pedalboard plugin (one, or each stage of a chain) is built, and run on a short tone, at both ends of
every knob's span (the grid's extreme values, a sampled parameter's range, a stage's varied settings), the
other knobs at their low end.
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


# (field to blame, the plugin's setting, its lowest and highest value)
Knob = tuple[str, str, float, float]


def check_effect(task: TaskConfig) -> None:
    """Raise the schema's one-line error for a plugin, setting or range end the effect cannot take."""
    spans = [p.range if p.is_sampled else (min(p.grid), max(p.grid)) for p in task.parameters]

    def knobs_of(stage: str | None) -> list[Knob]:
        return [(f"parameters[{i}].range" if p.is_sampled else f"parameters[{i}].grid", p.knob, float(lo), float(hi))
                for i, (p, (lo, hi)) in enumerate(zip(task.parameters, spans)) if p.stage == stage and not p.is_presence]

    if not task.effect.chain:
        _check_plugin(task.effect.plugin, task.effect.fixed, knobs_of(None), "effect", task.sample_rate)
        return
    for j, s in enumerate(task.effect.chain):
        where = f"effect.chain[{j}]"
        varied = [(f"{where}.vary.{k}", k, lo, hi) for k, (lo, hi) in s.vary.items()]
        _check_plugin(s.plugin, s.fixed, knobs_of(s.name) + varied, where, task.sample_rate)


def _check_plugin(plugin: str, fixed: dict, knobs: list[Knob], where: str, sample_rate: int) -> None:
    from fxbench.render import _custom_effects

    if plugin in _custom_effects():
        return  # fxbench's own effects check their settings when made
    classes = _plugin_classes()
    if plugin not in classes:
        close = difflib.get_close_matches(plugin, list(classes), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "name a pedalboard plugin class such as Distortion"
        raise invalid(f"{where}.plugin", f"{plugin!r} is neither a pedalboard plugin nor an fxbench effect", hint)
    cls = classes[plugin]
    names = settings_of(cls)
    for key in fixed:
        if key not in names:
            raise invalid(f"{where}.fixed.{key}", f"{plugin} has no setting {key!r} (settings: {', '.join(names)})",
                          "rename or remove it")
    seen: set[str] = set()
    for field, knob, _, _ in knobs:
        name_field = field.rsplit(".", 1)[0] + (".name" if field.startswith("parameters") else "")
        if knob not in names:
            raise invalid(name_field, f"{plugin} has no setting {knob!r} (settings: {', '.join(names)})",
                          "name the parameter (or its setting) after one of them")
        if knob in fixed:
            raise invalid(f"{where}.fixed.{knob}", f"{knob!r} is both fixed and a parameter", "remove it here")
        if knob in seen:
            raise invalid(name_field, f"{plugin}'s setting {knob!r} is turned twice", "turn each setting once")
        seen.add(knob)
    tone = (0.5 * np.sin(np.arange(512) * 0.05)).astype(np.float32)[None]
    low = {knob: lo for _, knob, lo, _ in knobs}
    for field, knob, lo, hi in knobs:
        for end in (lo, hi):
            point = {**low, knob: end}
            try:
                wet = cls(**fixed, **point)(tone, sample_rate, reset=True)
            except TypeError as exc:
                raise invalid(f"{where}.fixed", f"{plugin} refused the settings ({str(exc).splitlines()[0]})",
                              "give each setting a value of the plugin's type") from None
            except (ValueError, RuntimeError) as exc:
                raise invalid(field, f"{plugin} refuses {knob} = {end:g} ({str(exc).splitlines()[0]})",
                              "keep the values within what the plugin accepts") from None
            if not np.isfinite(wet).all():
                raise invalid(field, f"{plugin} gives non-finite audio at {knob} = {end:g}", "narrow the range")
