"""The embedded synthetic source: determinism, format, and that it sounds like a guitar take."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fxbench.sources.synth import STYLES, SynthSource, synth_recording

SR, SECONDS, N = 44100, 4.0, 30


@pytest.fixture(scope="module")
def recs():
    return list(SynthSource(seed=0, n_recordings=N, seconds=SECONDS, sample_rate=SR).recordings())


@pytest.fixture(scope="module")
def by_index(recs):
    return {r.meta["index"]: r for r in recs}


def test_same_seed_is_bit_identical(recs):
    again = list(SynthSource(seed=0).recordings())
    assert [r.recording_id for r in again] == [r.recording_id for r in recs]
    for a, b in zip(recs, again):
        assert np.array_equal(a.audio, b.audio) and a.meta == b.meta


def test_different_seed_differs(by_index):
    other = synth_recording(1, 0, SECONDS, SR, 6)
    assert not np.array_equal(other.audio, by_index[0].audio)


def test_recording_renders_alone(by_index):
    for i in (0, 7, 29):
        alone = synth_recording(0, i, SECONDS, SR, 6)
        assert alone.recording_id == by_index[i].recording_id
        assert np.array_equal(alone.audio, by_index[i].audio)


def test_recording_renders_in_another_process(by_index):
    code = ("import sys, numpy as np; from fxbench.sources.synth import synth_recording; "
            "sys.stdout.buffer.write(synth_recording(0, 11, 4.0, 44100, 6).audio.tobytes())")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env=env).stdout
    assert np.array_equal(np.frombuffer(out, np.float32), by_index[11].audio)


def test_ids_order_and_players(recs):
    ids = [r.recording_id for r in recs]
    assert ids == sorted(ids) and len(set(ids)) == N
    for r in recs:
        i = r.meta["index"]
        assert r.recording_id == f"synth-p{i % 6:02d}-r{i:04d}" and r.meta["player"] == f"p{i % 6:02d}"


def test_spec_is_json_and_complete():
    spec = SynthSource(seed=3).spec()
    assert json.loads(json.dumps(spec)) == spec
    assert {"name", "version", "seed", "n_recordings", "seconds", "sample_rate", "n_players"} <= spec.keys()
    assert spec["seed"] == 3 and spec["name"] == "synth"


def test_audio_format(recs):
    for r in recs:
        a = r.audio
        assert r.sample_rate == SR and a.dtype == np.float32 and a.shape == (round(SECONDS * SR),)
        assert np.isfinite(a).all()
        assert 0.3 <= np.max(np.abs(a)) <= 0.99
        assert np.count_nonzero(a == 0) < 10  # a noise floor everywhere, never digital silence


def test_takes_breathe_but_never_fall_below_the_floor(recs):
    """Real takes have quiet moments (rests, decays) well below their playing, and a noise floor under them:
    the quietest half second sits far below the loudest, yet above digital silence."""
    w = SR // 2
    spread = []
    for r in recs:
        a = r.audio.astype(np.float64)
        rms = 20 * np.log10([np.sqrt(np.mean(a[i: i + w] ** 2)) for i in range(0, len(a) - w + 1, w // 4)])
        assert rms.min() > -100, r.recording_id
        spread.append(rms.max() - rms.min())
    assert np.median(spread) > 6 and max(spread) > 20


def test_notes_start_softly_not_with_a_step(recs):
    """A pluck takes a few ms to leave the string: an instant onset would add a broadband click (energy
    above 16 kHz that real DI recordings do not have) to every note."""
    share = []
    for r in recs:
        power = np.abs(np.fft.rfft(r.audio.astype(np.float64))) ** 2
        f = np.fft.rfftfreq(len(r.audio), 1 / SR)
        share.append(10 * np.log10(power[f > 16000].sum() / power.sum()))
    assert np.median(share) < -52


def test_meta_and_variety(recs):
    for r in recs:
        m = r.meta
        assert m["style"] in STYLES and isinstance(m["key"], str) and isinstance(m["tempo"], int)
        assert 70 <= m["tempo"] <= 160 and -100 < m["noise_floor_dbfs"] < -40
        json.dumps(m)
    assert len({r.meta["player"] for r in recs}) == 6
    assert len({r.meta["style"] for r in recs}) == 3
    assert len({r.meta["key"] for r in recs}) >= 6
    assert len({r.meta["tempo"] for r in recs}) >= 10


def test_spectrum_in_guitar_range(recs):
    for r in recs:
        power = np.abs(np.fft.rfft(r.audio.astype(np.float64))) ** 2
        f = np.fft.rfftfreq(len(r.audio), 1 / SR)
        assert 150 < (power * f).sum() / power.sum() < 4000, r.recording_id
        assert power[(f > 70) & (f < 1300)].sum() > 0.5 * power.sum(), r.recording_id  # fundamentals E2..D6


def test_other_rates_and_lengths():
    for sr, seconds in ((22050, 1.3), (48000, 2.0)):
        r = synth_recording(5, 2, seconds, sr, 3)
        assert r.audio.shape == (round(seconds * sr),) and r.sample_rate == sr
        assert np.isfinite(r.audio).all() and 0.3 <= np.max(np.abs(r.audio)) <= 0.99
