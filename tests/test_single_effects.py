"""The single-effect tasks (sampled knobs): every knob changes what the model sees over its range, and each
effect does what its note says, on real pedalboard renders."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.render import from_int16, to_int16
from fxbench.task import load_task

from effect_renders import dry_clips, mel_change, render

SR = 44100
TASKS = ("distortion", "compressor", "reverb", "lowpass", "slapback", "chorus", "phaser", "eq", "mp3")
# least mean change of the min-max scaled Mel spectrogram between a knob's two ends (the others mid-range, or
# as in CONTEXT), 0.01 unless listed; a listed bar is about half the least change measured on synth clips. The
# weak knobs: reverb damping, compressor release, and the chorus's rate and depth (they act through a delayed
# copy at most as loud as the dry clip)
MIN_MEL_CHANGE = {
    ("reverb", "damping"): 0.005, ("compressor", "release_ms"): 0.005,
    ("chorus", "rate_hz"): 0.007, ("chorus", "depth"): 0.007, ("chorus", "mix"): 0.01,
    ("phaser", "rate_hz"): 0.011, ("phaser", "depth"): 0.011, ("phaser", "feedback"): 0.014,
    ("eq", "cutoff_frequency_hz"): 0.019, ("eq", "gain_db"): 0.022, ("eq", "q"): 0.014,
    ("mp3", "vbr_quality"): 0.047,
}
# the other knobs where a knob is tested: at 0 dB the peak filter is flat, so its frequency and q act only
# once gain_db is away from the middle of its range (the top end here, +18 dB)
CONTEXT = {("eq", "cutoff_frequency_hz"): {"gain_db": 1.0}, ("eq", "q"): {"gain_db": 1.0}}


@pytest.fixture(scope="module")
def dry_pcm() -> list[np.ndarray]:
    return dry_clips(2)


@pytest.mark.parametrize("name", TASKS)
def test_every_knob_changes_the_features_over_its_range(name, dry_pcm):
    task = load_task(name)
    assert task.is_sampled and 1000 <= task.dataset.clips * task.rows_per_clip <= 3000
    for p in task.parameters:
        for pcm in dry_pcm:
            change = mel_change(task, pcm, p.name, CONTEXT.get((name, p.name)))
            assert change > MIN_MEL_CHANGE.get((name, p.name), 0.01), f"{name}.{p.name}: Mel changes by {change:.4f}"


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
