"""Helpers of the effect tests: dry synth clips as a build cuts them, and renders at scaled settings."""
from __future__ import annotations

import numpy as np

from fxbench.render import GridRenderer, from_int16, to_int16
from fxbench.sources.synth import synth_recording

SR = 44100


def dry_clips(n: int = 2) -> list[np.ndarray]:
    """``n`` 2-s synth clips at the clip policy's -1 dBFS peak, as 16-bit PCM."""
    clips = []
    for i in range(n):
        x = synth_recording(0, i, 2.0, SR, 6).audio[:2 * SR]
        clips.append(to_int16(x / np.abs(x).max() * 10 ** (-1 / 20)))
    return clips


def at(task, scaled: dict[str, float]) -> dict[str, np.ndarray]:
    """Settings in units for scaled values (unnamed parameters at mid-range), as one-row draws."""
    return {p.name: np.array([p.unscale(scaled.get(p.name, 0.5))], dtype=np.float32) for p in task.parameters}


def render(task, pcm, scaled_rows: list[dict[str, float]]) -> np.ndarray:
    """One float render per row of scaled settings."""
    r = GridRenderer(task)
    return np.stack([from_int16(r.render_at(pcm, at(task, s))[0]) for s in scaled_rows])


def mel_change(task, pcm: np.ndarray, name: str, context: dict[str, float] | None = None) -> float:
    """Mean change of the min-max scaled Mel spectrogram between a knob's two ends, the other knobs at
    mid-range or as in ``context`` (scaled)."""
    from fxbench.features import MelFeatures

    context = context or {}
    lo, hi = MelFeatures(task.features, SR)(render(task, pcm, [{**context, name: 0.0}, {**context, name: 1.0}]))
    return float(np.abs(lo - hi).mean())
