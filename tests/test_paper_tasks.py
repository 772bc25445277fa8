"""The paper's other tasks (samplerate, delay, limiter): real renders checked against what each effect
must do, and the task files checked against the paper's grids."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fxbench.features import MelFeatures
from fxbench.render import GridRenderer, from_int16, to_int16
from fxbench.sources.synth import synth_recording
from fxbench.task import load_task, parse_task

SR = 44100


@pytest.fixture(scope="module")
def dry_pcm() -> np.ndarray:
    rec = synth_recording(0, 3, 2.0, SR, 6)
    # a little white noise keeps every band of the clip well above int16's floor, so a stop band can be
    # measured whatever the guitar's own top end
    x = rec.audio + np.random.default_rng(0).standard_normal(rec.audio.size).astype(np.float32) * 0.003
    return to_int16(x / np.abs(x).max() * 10 ** (-1 / 20))  # the clip policy's -1 dBFS peak


def test_task_files_follow_the_paper():
    sr = load_task("samplerate").parameters[0]
    assert sr.grid == (8.0, 11.025, 12.0, 16.0, 22.05, 24.0, 32.0, 44.1) and sr.bypass == 44.1
    delay = load_task("delay")
    times = delay.parameters[0].grid
    assert len(times) == 8 and times[0] == 0 and times[-1] == 0.25 and np.allclose(np.diff(times), 0.25 / 7)
    assert delay.effect.fixed["feedback"] == 0.7 and delay.dataset.clips * len(times) == 2800
    lim = load_task("limiter")
    assert [p.grid for p in lim.parameters] == [(-9.0, -5.0, 0.0), (0.0, 500.0, 900.0)]
    assert len(lim.grid_points()) == 9


def test_reference_numbers_are_the_papers_and_not_part_of_the_digest():
    bc = load_task("bitcrush")
    ref = {r.model: r.test_mae for r in bc.reference.results}
    assert ref == {"cnn": 0.062, "encdec": 0.1195, "unet": 0.4816}
    assert {r.model: r.test_mae for r in load_task("delay").reference.results} == {"cnn": 0.01212, "unet": 0.01584}
    edited = dataclasses.replace(bc, reference=dataclasses.replace(bc.reference, note="corrected"))
    assert edited.digest() == bc.digest()  # commentary: editing it must not invalidate data or results
    assert dataclasses.replace(bc, version=2).digest() != bc.digest()


def test_reference_block_is_parsed_strictly():
    text = open(load_task("delay").path).read().replace("test_mae: 0.01212", "test_mea: 0.01212")
    with pytest.raises(Exception) as err:
        parse_task(text, "delay.yaml")
    assert "unknown key 'test_mea'" in str(err.value)


def _band_energy(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f >= lo_hz) & (f < hi_hz)].sum())


def test_samplerate_removes_the_band_above_each_nyquist(dry_pcm):
    task = load_task("samplerate")
    renders = GridRenderer(task).render(dry_pcm)
    assert renders.shape == (8, dry_pcm.size) and renders.dtype == np.int16
    assert np.array_equal(renders[-1], dry_pcm), "44.1 kHz is the dry clip"
    dry = from_int16(dry_pcm)
    for rate, pcm in zip(task.parameters[0].grid[:-1], renders[:-1]):
        nyq = rate * 500.0
        wet = from_int16(pcm)
        # int16 storage leaves a -96 dBFS noise floor there, so -30 dB (not the -50 dB of float) is the bar
        above = _band_energy(wet, nyq * 1.05, SR / 2) / _band_energy(dry, nyq * 1.05, SR / 2)
        below = _band_energy(wet, 100, nyq * 0.9) / _band_energy(dry, 100, nyq * 0.9)
        assert above < 10 ** (-30 / 10), f"{rate} kHz: band above Nyquist only {10 * np.log10(above):.1f} dB down"
        assert 0.97 < below < 1.03, f"{rate} kHz: pass band changed by {below:.3f}"


def test_samplerate_renders_are_torchaudio_resample_to_the_bit(dry_pcm):
    """The effect keeps its kernels between clips; the renders must be exactly the functional round trip's."""
    import torch
    import torchaudio.functional as AF

    task = load_task("samplerate")
    renders = GridRenderer(task).render(dry_pcm)
    x = torch.from_numpy(from_int16(dry_pcm))[None]
    opts = {"lowpass_filter_width": 16, "rolloff": 0.95}
    assert task.effect.fixed == opts
    for rate, pcm in zip(task.parameters[0].grid[:-1], renders[:-1]):
        hz = int(round(rate * 1000))
        ref = AF.resample(AF.resample(x, SR, hz, **opts), hz, SR, **opts)[0, :dry_pcm.size].numpy()
        assert np.array_equal(pcm, to_int16(ref)), f"{rate} kHz render differs from torchaudio's resample"


def test_delay_zero_is_dry_and_echoes_come_at_the_set_time(dry_pcm):
    task = load_task("delay")
    renders = GridRenderer(task).render(dry_pcm)
    assert np.array_equal(renders[0], dry_pcm)
    click = np.zeros(SR, dtype=np.float32)
    click[1000] = 0.5
    for i, t in enumerate(task.parameters[0].grid[1:], start=1):
        wet = from_int16(GridRenderer(task).render(to_int16(click))[i])
        lag = int(round(t * SR))
        assert abs(wet[1000 + lag]) > 0.1, f"no echo {t:.3f} s after the click"
        assert abs(wet[1000 + 2 * lag]) == pytest.approx(0.7 * abs(wet[1000 + lag]), rel=0.05)  # feedback 0.7


def test_limiter_every_threshold_engages_and_release_matters(dry_pcm):
    task = load_task("limiter")
    renders = GridRenderer(task).render(dry_pcm)
    dry = from_int16(dry_pcm).astype(np.float64)
    driven = np.clip(dry * 10 ** (6 / 20), -1, 1)
    crest = [np.abs(r / 32768).max() / np.sqrt(np.mean((r / 32768) ** 2)) for r in renders.astype(np.float64)]
    # rows: threshold -9, -5, 0 (x release 0, 500, 900): a lower threshold squashes peaks harder
    by_threshold = np.array(crest).reshape(3, 3).mean(axis=1)
    assert by_threshold[0] < by_threshold[1] < by_threshold[2]
    assert np.abs(from_int16(renders[6]) - driven).mean() > 1e-3, "the 0-dB threshold never engaged"
    mel = MelFeatures(task.features, SR)(from_int16(renders))
    change = [np.abs(mel[3 * t] - mel[3 * t + 2]).mean() for t in range(3)]  # release 0 vs 900 ms
    # release acts once the threshold stage has engaged: strongly at -9 dB, hardly at 0 dB
    assert change[0] > change[1] > change[2] and change[0] > 1e-2
