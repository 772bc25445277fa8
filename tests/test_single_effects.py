"""The single-effect tasks (sampled knobs): every knob changes what the model sees over its range, and each
effect does what its note says, on real pedalboard renders."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.features import MelFeatures
from fxbench.render import from_int16, to_int16
from fxbench.task import load_task

from effect_renders import dry_clips, render

SR = 44100
TASKS = ("distortion", "compressor", "reverb", "lowpass", "slapback")
# least mean change of the min-max scaled Mel spectrogram between a knob's two ends (the others mid-range);
# the weakly identifiable knobs (reverb damping, compressor release) clear only the low bar
MIN_MEL_CHANGE = {"damping": 0.005, "release_ms": 0.005}


@pytest.fixture(scope="module")
def dry_pcm() -> list[np.ndarray]:
    return dry_clips(2)


@pytest.mark.parametrize("name", TASKS)
def test_every_knob_changes_the_features_over_its_range(name, dry_pcm):
    task = load_task(name)
    assert task.is_sampled and 1000 <= task.dataset.clips * task.rows_per_clip <= 3000
    mel = MelFeatures(task.features, SR)
    for p in task.parameters:
        for pcm in dry_pcm:
            lo, hi = mel(render(task, pcm, [{p.name: 0.0}, {p.name: 1.0}]))
            change = float(np.abs(lo - hi).mean())
            assert change > MIN_MEL_CHANGE.get(p.name, 0.01), f"{name}.{p.name}: Mel changes by {change:.4f}"


def _crest(x: np.ndarray) -> float:
    return float(np.abs(x).max() / np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_more_drive_flattens_the_clip(dry_pcm):
    task = load_task("distortion")
    crest = [_crest(x) for x in render(task, dry_pcm[0], [{"drive_db": v} for v in (0.0, 0.5, 1.0)])]
    assert crest[0] > crest[1] > crest[2] and crest[2] < 1.6, crest  # 40 dB: near a square wave


def test_a_lower_threshold_compresses_harder_and_the_top_one_engages(dry_pcm):
    """No make-up gain: the level lost is the gain reduction (the features' min-max scaling hides it)."""
    task = load_task("compressor")
    dry = from_int16(dry_pcm[0]).astype(np.float64)
    wet = render(task, dry_pcm[0], [{"threshold_db": v} for v in (0.0, 0.5, 1.0)])
    kept = [float(np.sqrt(np.mean(w.astype(np.float64) ** 2) / np.mean(dry ** 2))) for w in wet]
    assert kept[0] < kept[1] < kept[2] < 0.9, kept  # -40 dB < -25 dB < -10 dB, which still engages


def test_reverb_room_size_lengthens_the_tail():
    task = load_task("reverb")
    click = np.zeros(SR, dtype=np.float32)
    click[100] = 0.9
    wet = render(task, to_int16(click), [{"room_size": 0.0}, {"room_size": 1.0}])
    tail = [float(np.sum(w[SR // 2:] ** 2)) for w in wet]  # energy 0.5 s after the click
    assert tail[1] > 100 * tail[0], tail


def test_lowpass_cutoff_sets_the_top_band(dry_pcm):
    task = load_task("lowpass")
    wet = render(task, dry_pcm[0], [{"cutoff_frequency_hz": v} for v in (0.0, 0.5, 1.0)])
    f = np.fft.rfftfreq(wet.shape[1], 1 / SR)
    top = [float((np.abs(np.fft.rfft(w)) ** 2)[f > 3000].sum()) for w in wet]
    assert top[0] < top[1] < top[2], top
    assert load_task("lowpass").parameters[0].unscale(0.5) == pytest.approx(np.sqrt(150 * 12000))


def test_a_slapback_is_one_repeat_at_its_time_and_level():
    task = load_task("slapback")
    click = np.zeros(SR, dtype=np.float32)
    click[100] = 0.5
    wet = render(task, to_int16(click), [{"delay_seconds": 0.5, "mix": 1.0}])[0]
    echo = 100 + float(task.parameters[0].unscale(0.5)) * SR  # 120 ms later, at mix 0.5: as loud as the dry part
    peaks = np.flatnonzero(np.abs(wet) > 0.01)
    assert len(peaks) == 2 and peaks[0] == 100 and abs(peaks[1] - echo) <= 1, (peaks, echo)  # one repeat, no feedback
    assert np.allclose(wet[peaks], 0.5 * 0.5, atol=1e-3), wet[peaks]
