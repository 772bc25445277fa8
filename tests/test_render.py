"""Effect renders with the real pedalboard, and features with the real torchaudio."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.features import MelFeatures
from fxbench.render import GridRenderer, from_int16, to_int16
from fxbench.sources.synth import synth_recording
from fxbench.task import load_task


@pytest.fixture(scope="module")
def dry_pcm() -> np.ndarray:
    rec = synth_recording(0, 0, 2.0, 44100, 6)
    audio = rec.audio / np.abs(rec.audio).max() * 0.89
    return to_int16(audio)


def test_bitcrush_grid_quantises_to_the_bit_depth(dry_pcm):
    task = load_task("bitcrush")
    renders = GridRenderer(task).render(dry_pcm)
    assert renders.shape == (17, dry_pcm.shape[0]) and renders.dtype == np.int16
    for b in range(16):
        wet = from_int16(renders[b]).astype(np.float64)
        # +1.0 (reached at 0-2 bits) has no 16-bit code; it is stored as the largest one, 32767
        wet[renders[b] == 32767] = 1.0
        k = wet * 2.0 ** b
        assert np.array_equal(k, np.round(k)), f"{b}-bit render has samples off the 2^-{b} grid"
        distinct = np.unique(wet).size
        assert distinct <= 2 ** (b + 1) + 1
    assert np.array_equal(renders[16], dry_pcm), "the 16-bit row must be the dry clip itself"
    # a lower depth throws away more: error against the dry clip shrinks as bits grow
    errs = [np.abs(from_int16(renders[b]) - from_int16(dry_pcm)).mean() for b in range(16)]
    assert all(a > b for a, b in zip(errs[:12], errs[1:13]))


def test_int16_round_trip_is_exact():
    pcm = np.arange(-32768, 32768, 97, dtype=np.int16)
    assert np.array_equal(to_int16(from_int16(pcm)), pcm)
    assert to_int16(np.array([1.0, -1.0, 2.0], dtype=np.float32)).tolist() == [32767, -32768, 32767]


def test_mel_has_the_paper_shape_and_range(dry_pcm):
    task = load_task("bitcrush")
    x = from_int16(dry_pcm)
    t = np.arange(x.size) / 44100
    sine = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    mel = MelFeatures(task.features, task.sample_rate)(np.stack([x, sine]))
    assert mel.shape == (2, 128, 173) and mel.dtype == np.float32
    for m in mel:
        assert m.min() == pytest.approx(0.0, abs=1e-6) and m.max() == pytest.approx(1.0, abs=1e-6)
    # 1 kHz sits at mel 1000 of 2595 log10(1 + 22050 / 700) = 3923 (HTK scale), i.e. band ~32 of 128
    assert 31 <= int(mel[1].mean(axis=1).argmax()) <= 34


@pytest.mark.filterwarnings("ignore:At least one mel filterbank has all zero values")
def test_mel_matches_a_hand_computation(dry_pcm):
    import torch

    task = load_task("bitcrush")
    x = from_int16(dry_pcm)
    ours = MelFeatures(task.features, task.sample_rate)(x[None])[0]
    spec = torch.stft(torch.from_numpy(x), 1024, 512, window=torch.hann_window(1024), center=True,
                      pad_mode="reflect", return_complex=True).abs() ** 2
    import torchaudio

    fb = torchaudio.functional.melscale_fbanks(513, 0.0, 22050.0, 128, 44100)
    db = 10 * torch.log10(torch.clamp(fb.T @ spec, min=1e-10))
    ref = ((db - db.min()) / (db.max() - db.min())).numpy()
    assert np.allclose(ours, ref, atol=1e-4)


@pytest.mark.filterwarnings("ignore:At least one mel filterbank has all zero values")
def test_mel_is_torchaudios_to_the_bit(dry_pcm):
    """The build computes |STFT| its own (faster) way; published spectrograms must not move by one bit."""
    import torch
    import torchaudio

    task = load_task("delay")
    renders = from_int16(GridRenderer(task).render(dry_pcm))
    ours = MelFeatures(task.features, task.sample_rate)(renders)
    mel = torchaudio.transforms.MelSpectrogram(44100, n_fft=1024, hop_length=512, n_mels=128, power=2.0)
    with torch.no_grad():
        db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)(mel(torch.from_numpy(renders)))
        lo, hi = db.amin(dim=(-2, -1), keepdim=True), db.amax(dim=(-2, -1), keepdim=True)
        ref = ((db - lo) / (hi - lo + 1e-8)).numpy()
    assert np.array_equal(ours, ref)
