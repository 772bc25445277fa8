"""Effect render: every dry clip through the task's pedalboard plugin at every grid point.

Renders are stored as 16-bit PCM, so every render is quantised to int16 here and
features are computed from exactly what is stored: anyone recomputing features
from the dataset's audio column gets the same numbers.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig

Effect = Callable[[np.ndarray], np.ndarray]  # (n_samples,) float32 -> (n_samples,) float32

#: fxbench-defined effects beyond pedalboard's plugins: name -> factory(settings, sample_rate).
CUSTOM_EFFECTS: dict[str, Callable[[dict, int], Effect]] = {}


def register_effect(name: str) -> Callable:
    """Register an effect that pedalboard lacks; a task names it in ``effect.plugin``."""

    def deco(factory: Callable[[dict, int], Effect]) -> Callable[[dict, int], Effect]:
        CUSTOM_EFFECTS[name] = factory
        return factory

    return deco


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> 16-bit PCM, the storage format of every clip (+1.0 becomes 32767)."""
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def from_int16(pcm: np.ndarray) -> np.ndarray:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def _custom_effects() -> dict[str, Callable[[dict, int], Effect]]:
    """Effects defined in fxbench/effects/ (one file each), imported on first use."""
    import importlib
    import pkgutil

    import fxbench.effects as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    return CUSTOM_EFFECTS


def _plugin(plugin: str, settings: dict, sample_rate: int) -> Effect:
    custom = _custom_effects()
    if plugin in custom:
        return custom[plugin](settings, sample_rate)
    return _pedalboard_effect(plugin, settings, sample_rate)


def _pedalboard_effect(plugin: str, settings: dict, sample_rate: int) -> Effect:
    import pedalboard

    cls = getattr(pedalboard, plugin, None)
    if cls is None or not isinstance(cls, type):
        raise FxbenchError(f"effect plugin {plugin!r} is neither a pedalboard plugin nor a registered "
                           f"fxbench effect; check effect.plugin in the task file")
    try:
        instance = cls(**settings)
    except TypeError as exc:
        raise FxbenchError(f"effect {plugin}: bad settings {settings} ({exc}); check effect.fixed and "
                           f"the parameter names in the task file") from None

    def apply(audio: np.ndarray) -> np.ndarray:
        return instance(audio[None, :], sample_rate, reset=True)[0]

    return apply


class GridRenderer:
    """Renders one dry clip at every grid point of a task, in grid-index order, or (a sampled task) at the
    settings drawn for it (``render_at``)."""

    def __init__(self, task: TaskConfig) -> None:
        self.task = task
        self.points = [] if task.is_sampled else task.grid_points()
        self.effects: list[Effect | None] = [self._effect_for(p) for p in self.points]

    def _effect_for(self, point: dict[str, float]) -> Effect | None:
        with_bypass = [p for p in self.task.parameters if p.bypass is not None]
        if with_bypass and all(point[p.name] == p.bypass for p in with_bypass):
            return None  # the dry clip itself
        if self.task.effect.chain:
            effect = self._chain_for(point)
            if effect is None:
                return None
        else:
            settings: dict[str, Any] = dict(self.task.effect.fixed)
            settings.update(point)
            effect = _plugin(self.task.effect.plugin, settings, self.task.sample_rate)
        gain = 10 ** (self.task.effect.input_gain_db / 20)
        if gain == 1.0:
            return effect
        return lambda audio: effect(audio * np.float32(gain))

    def _chain_for(self, point: dict[str, float]) -> Effect | None:
        """The stages the point leaves active, in order, each with its knobs and varied settings (None: every
        stage bypassed, the dry clip)."""
        from fxbench.sampling import varied_key

        presence = {p.stage: p.name for p in self.task.parameters if p.is_presence}
        effects = []
        for s in self.task.effect.chain:
            if s.name in presence and point[presence[s.name]] < 0.5:
                continue
            settings: dict[str, Any] = dict(s.fixed)
            settings.update({p.knob: point[p.name] for p in self.task.parameters
                             if p.stage == s.name and not p.is_presence})
            settings.update({k: point[varied_key(s.name, k)] for k in s.vary})
            effects.append(_plugin(s.plugin, settings, self.task.sample_rate))
        if not effects:
            return None

        def apply(audio: np.ndarray) -> np.ndarray:
            for effect in effects:
                audio = np.asarray(effect(audio), dtype=np.float32)
            return audio

        return apply

    def render(self, dry_pcm: np.ndarray) -> np.ndarray:
        """16-bit dry clip -> (n_grid, n_samples) int16 renders."""
        return self._render(dry_pcm, self.effects)

    def render_at(self, dry_pcm: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
        """16-bit dry clip -> (n_draws, n_samples) int16 renders, row i at ``{name: values[name][i]}``."""
        n = len(next(iter(values.values())))
        points = [{name: float(v[i]) for name, v in values.items()} for i in range(n)]
        return self._render(dry_pcm, [self._effect_for(p) for p in points])

    def _render(self, dry_pcm: np.ndarray, effects: list[Effect | None]) -> np.ndarray:
        dry = from_int16(dry_pcm)
        out = np.empty((len(effects), dry.shape[0]), dtype=np.int16)
        for i, effect in enumerate(effects):
            if effect is None:
                out[i] = dry_pcm
                continue
            wet = np.asarray(effect(dry), dtype=np.float32)
            if wet.shape != dry.shape:
                raise FxbenchError(f"effect {self.task.effect.label} changed the clip length "
                                   f"({dry.shape[0]} -> {wet.shape[0]} samples); it must keep it")
            out[i] = to_int16(wet)
        return out
