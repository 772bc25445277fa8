"""The modulation, EQ and codec tasks (chorus, phaser, eq, mp3): each effect does what its note says, on real
pedalboard renders (that every knob changes the features: test_single_effects.py)."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.render import GridRenderer, from_int16, to_int16
from fxbench.task import load_task

from effect_renders import at, dry_clips, render

SR = 44100
@pytest.fixture(scope="module")
def dry_pcm() -> list[np.ndarray]:
    return dry_clips(2)


@pytest.fixture(scope="module")
def noise_pcm() -> np.ndarray:
    """White noise with its peak under -1 dBFS: energy at every frequency, for the FFT checks."""
    return to_int16(np.clip(0.2 * np.random.default_rng(0).standard_normal(2 * SR), -0.89, 0.89))


def _render_units(task, pcm, settings: dict[str, float]) -> np.ndarray:
    """One render at settings in units, outside the task's ranges too (unnamed parameters at mid-range)."""
    values = {k: v[0] for k, v in at(task, {}).items()} | settings
    return from_int16(GridRenderer(task).render_at(pcm, {k: np.array([v], dtype=np.float32)
                                                         for k, v in values.items()})[0])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_chorus_mix_blends_a_delayed_copy_into_the_dry_clip(dry_pcm):
    task = load_task("chorus")
    dry = from_int16(dry_pcm[0])
    assert np.array_equal(_render_units(task, dry_pcm[0], {"mix": 0.0}), dry)  # mix 0: the dry clip itself
    wet = _render_units(task, dry_pcm[0], {"mix": 1.0})
    assert _rms(wet - dry) > 0.3 * _rms(dry)
    # all wet, no sweep: the dry clip delayed by the fixed centre delay (7 ms)
    still = _render_units(task, dry_pcm[0], {"mix": 1.0, "depth": 0.0})
    lag = int(np.argmax(np.fft.irfft(np.fft.rfft(still) * np.conj(np.fft.rfft(dry)))))
    assert lag == round(7.0e-3 * SR), lag


def _harmonic_db(x: np.ndarray, bins: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """(frames, harmonics) level in dB of the STFT bins that hold a harmonic."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    return 10 * np.log10(np.abs(np.fft.rfft(frames, axis=1)[:, bins]) ** 2 + 1e-12)


def test_phaser_rate_sets_how_fast_the_spectrum_sweeps():
    """A steady sawtooth whose harmonics fall on STFT bins: dry, every harmonic's level is constant; through the
    phaser, the notches sweep over the harmonics at the LFO rate."""
    task = load_task("phaser")
    n_fft, hop = 2048, 512
    f0 = 5 * SR / n_fft  # harmonics every 5 bins
    t = np.arange(2 * SR) / SR
    saw = to_int16(0.8 * (2 * ((f0 * t) % 1) - 1))
    bins = np.arange(2, 75) * 5  # 215 Hz to 8 kHz
    fm = np.fft.rfftfreq(len(range(0, 2 * SR - n_fft + 1, hop)), hop / SR)  # modulation frequencies
    dry = _harmonic_db(from_int16(saw), bins)
    assert dry.std(axis=0).mean() < 0.1
    spectra = {}
    for scaled in (0.0, 1.0):  # 0.2 Hz and 5 Hz
        level = _harmonic_db(render(task, saw, [{"rate_hz": scaled}])[0], bins)
        assert level.std(axis=0).mean() > 1.0  # the spectrum moves (dB over time, mean over harmonics)
        spectra[scaled] = (np.abs(np.fft.rfft(level - level.mean(axis=0), axis=0)) ** 2).mean(axis=1)
    slow = lambda m: float(m[1:][fm[1:] < 3].sum() / m[1:].sum())  # share of the modulation below 3 Hz
    assert slow(spectra[0.0]) > 0.6 and slow(spectra[1.0]) < 0.1, (slow(spectra[0.0]), slow(spectra[1.0]))
    assert abs(fm[1:][np.argmax(spectra[1.0][1:])] - 5.0) < 0.6  # the 5 Hz sweep is the strongest modulation


def _band_db(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(10 * np.log10((np.abs(np.fft.rfft(x)) ** 2)[(f >= lo_hz) & (f < hi_hz)].sum()))


def test_eq_gain_raises_or_lowers_the_band_around_the_cutoff(noise_pcm):
    task = load_task("eq")
    fc = task.parameters[0].unscale(0.5)  # 800 Hz, q mid-range (1.22)
    assert fc == pytest.approx(800.0)
    dry = from_int16(noise_pcm) * np.float32(10 ** (task.effect.input_gain_db / 20))  # the level fed to the filter
    boost, cut = render(task, noise_pcm, [{"gain_db": 1.0}, {"gain_db": 0.0}])
    assert np.abs(boost).max() < 0.9  # the input gain leaves the boost headroom: nothing clips in the int16 store
    near, far = (fc / 2 ** (1 / 6), fc * 2 ** (1 / 6)), (12000.0, 20000.0)
    rise = [_band_db(w, *near) - _band_db(dry, *near) for w in (boost, cut)]
    assert rise[0] > 12 and rise[1] < -12, rise  # +-18 dB at the centre, less over a third of an octave
    assert all(abs(_band_db(w, *far) - _band_db(dry, *far)) < 1.0 for w in (boost, cut))  # 4 octaves off: flat


def test_mp3_better_quality_keeps_the_top_octaves_and_the_waveform(dry_pcm, noise_pcm):
    task = load_task("mp3")
    best, worst = render(task, noise_pcm, [{"vbr_quality": 0.0}, {"vbr_quality": 1.0}])
    noise = from_int16(noise_pcm)
    kept = [_band_db(w, 10000.0, 16000.0) - _band_db(noise, 10000.0, 16000.0) for w in (best, worst)]
    assert kept[0] > -1.0 and kept[1] < -20.0, kept  # 9.9's low-pass sits well under 10 kHz
    dry = from_int16(dry_pcm[0])
    err = [_rms(w - dry) for w in render(task, dry_pcm[0], [{"vbr_quality": 0.0}, {"vbr_quality": 1.0}])]
    assert err[0] < 0.5 * err[1], err


def test_mp3_keeps_the_clip_length_and_its_timing():
    """pedalboard compensates the encoder's and decoder's delay: a click comes back where it was, even near
    either end of the clip, at every quality."""
    task = load_task("mp3")
    for where in (10, SR, 2 * SR - 10):
        click = np.zeros(2 * SR, dtype=np.float32)
        click[where] = 0.9
        for wet in render(task, to_int16(click), [{"vbr_quality": 0.0}, {"vbr_quality": 1.0}]):
            assert wet.shape == click.shape and int(np.argmax(np.abs(wet))) == where
