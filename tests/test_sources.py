"""Folder and GuitarSet sources: every format comes out as 44.1 kHz mono float32, bad files are
skipped out loud, the fingerprint follows the bytes, and GuitarSet splits follow the players."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from fxbench.errors import FxbenchError
from fxbench.sources.base import Source
from fxbench.sources.folder import FolderSource
from fxbench.sources.guitarset import GuitarSetSource, parse_name

SR, F0 = 44100, 440.0


def tone(sr: int, seconds: float, channels: int = 1, f0: float = F0) -> np.ndarray:
    """A decaying sine; channel c at 1/(c+1) amplitude, so the downmix is checkable."""
    t = np.arange(int(round(sr * seconds))) / sr
    x = 0.8 * np.sin(2 * np.pi * f0 * t) * np.exp(-t / 1.5)
    return np.stack([x / (c + 1) for c in range(channels)]).astype(np.float32)


def write(path: Path, sr: int, seconds: float, channels: int = 1, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", sr, channels, **kw) as f:
        f.write(tone(sr, seconds, channels))
    return path


# (file, sample rate, channels, writer kwargs): every format this pedalboard build writes
FORMATS = [
    ("mono.wav", 44100, 1, {"bit_depth": 16}),
    ("stereo.wav", 44100, 2, {"bit_depth": 16}),
    ("eight_bit.wav", 44100, 1, {"bit_depth": 8}),
    ("hi_rate.wav", 96000, 1, {"bit_depth": 24}),
    ("sub/lossy.mp3", 44100, 1, {}),
    ("sub/lossy48.mp3", 48000, 2, {}),
    ("flac48.flac", 48000, 2, {"bit_depth": 16}),
    ("vorbis.ogg", 22050, 1, {}),
    ("apple.aiff", 44100, 1, {"bit_depth": 16}),
    ("UPPER.AIF", 32000, 1, {"bit_depth": 16}),
]
SECONDS = 2.5


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> FolderSource:
    d = tmp_path_factory.mktemp("formats")
    for name, sr, ch, kw in FORMATS:
        write(d / name, sr, SECONDS, ch, **kw)
    (d / "notes.txt").write_text("not audio")
    return FolderSource(d)


def test_is_a_source(formats: FolderSource) -> None:
    assert isinstance(formats, Source)
    assert formats.recording_ids() == sorted(n for n, *_ in FORMATS)
    assert formats.warnings == [] and formats.skipped == []


@pytest.mark.parametrize("name,sr,channels,kw", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_loads_as_mono_44k(formats: FolderSource, name: str, sr: int, channels: int, kw: dict) -> None:
    rec = formats.load(name)
    assert rec.recording_id == name and rec.sample_rate == SR
    assert rec.audio.dtype == np.float32 and rec.audio.ndim == 1
    assert abs(len(rec.audio) - SECONDS * SR) <= 2  # mp3 too: encoder delay and padding are trimmed
    spectrum = np.abs(np.fft.rfft(rec.audio * np.hanning(len(rec.audio))))
    assert abs(np.argmax(spectrum) * SR / len(rec.audio) - F0) < 2.0
    # downmix is the mean of channels: channel c has amplitude 1/(c+1)
    expected_peak = 0.8 * np.mean([1 / (c + 1) for c in range(channels)])
    assert np.max(np.abs(rec.audio)) == pytest.approx(expected_peak, rel=0.08)
    ext = name.rsplit(".", 1)[1].lower()
    assert rec.meta == {"file": name, "original_sample_rate": sr, "original_channels": channels, "format": ext}


def test_mp3_is_time_aligned(tmp_path: Path) -> None:
    """The mp3's encoder delay and padding are trimmed: a burst starts where it was written."""
    x = np.zeros((1, int(2.5 * SR)), np.float32)
    x[0, 30000:40000] = 0.5 * np.random.default_rng(1).standard_normal(10000).clip(-1.5, 1.5)
    with AudioFile(str(tmp_path / "burst.mp3"), "w", SR, 1) as f:
        f.write(x)
    y = FolderSource(tmp_path).load("burst.mp3").audio
    assert len(y) == x.shape[1]
    assert abs(int(np.argmax(np.abs(y) > 0.1)) - int(np.argmax(np.abs(x[0]) > 0.1))) <= 3


def test_bad_files_are_skipped_and_named(tmp_path: Path) -> None:
    for name in ("a.wav", "b/c.flac"):
        write(tmp_path / name, SR, 2.2)
    (tmp_path / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    (tmp_path / "empty.wav").write_bytes(b"")
    with AudioFile(str(tmp_path / "no_frames.wav"), "w", SR, 1):
        pass  # a valid header and no samples
    write(tmp_path / "short.wav", SR, 1.0)
    src = FolderSource(tmp_path)
    assert src.recording_ids() == ["a.wav", "b/c.flac"]
    reasons = dict(src.skipped)
    assert sorted(reasons) == ["corrupt.wav", "empty.wav", "no_frames.wav", "short.wav"]
    assert "unreadable" in reasons["corrupt.wav"] and "0 bytes" in reasons["empty.wav"]
    assert "no audio frames" in reasons["no_frames.wav"] and "shorter" in reasons["short.wav"]
    assert len(src.warnings) == 4
    for name in reasons:
        assert sum(name in w for w in src.warnings) == 1 and all("\n" not in w for w in src.warnings)
    assert len(src.load("b/c.flac").audio) == int(2.2 * SR)
    assert FolderSource(tmp_path, min_seconds=0.5).recording_ids() == ["a.wav", "b/c.flac", "short.wav"]


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FxbenchError, match="does not exist") as e:
        FolderSource(tmp_path / "nope")
    assert e.value.exit_code == 2
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(FxbenchError, match=r"no audio files \(wav, flac, mp3, ogg, aiff\) under") as e:
        FolderSource(tmp_path)
    assert e.value.exit_code == 2
    (tmp_path / "bad.wav").write_bytes(b"RIFF....garbage")
    write(tmp_path / "tiny.wav", SR, 0.5)
    with pytest.raises(FxbenchError, match="all 2 audio files .* skipped .*first: bad.wav: unreadable") as e:
        FolderSource(tmp_path).recording_ids()
    assert e.value.exit_code == 2


def test_spec_follows_bytes_not_location(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / "a" / f"take{i}.wav", SR, 2.1)
    a, b = FolderSource(tmp_path / "a"), FolderSource(tmp_path / "a")
    assert a.spec() == b.spec() and json.dumps(a.spec(), sort_keys=True)
    assert [f["file"] for f in a.spec()["files"]] == ["take0.wav", "take1.wav", "take2.wav"]
    shutil.copytree(tmp_path / "a", tmp_path / "moved")
    assert FolderSource(tmp_path / "moved").spec() == a.spec()
    assert FolderSource(tmp_path / "a", sample_rate=48000).spec() != a.spec()
    path = tmp_path / "a" / "take1.wav"
    data = bytearray(path.read_bytes())
    data[-1000] ^= 1  # one sample's low bit
    path.write_bytes(bytes(data))
    assert FolderSource(tmp_path / "a").spec() != a.spec()
    assert a.spec() == b.spec()  # each instance hashed once and kept its result


GUITARSET = ["00_BN1-129-Eb_comp_mic.wav", "00_Rock3-148-C_solo_mic.wav", "01_Funk2-108-F#_solo_mic.wav",
             "02_Jazz3-150-C_comp_mic.wav", "03_Rock1-130-A_solo_mic.wav", "04_SS2-107-C#_comp_mic.wav",
             "05_BN3-119-G_solo_mic.wav", "05_Funk1-97-Bb_comp_mic.wav"]


@pytest.fixture(scope="module")
def guitarset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("GuitarSet")
    for name in GUITARSET:
        write(root / "audio_mono-mic" / name, SR, 2.1)
    return root


def test_guitarset_names_parse() -> None:
    assert parse_name("04_SS2-107-C#_comp_mic.wav") == {
        "player": "04", "style": "singer-songwriter", "style_code": "SS", "progression": 2, "tempo": 107,
        "key": "C#", "mode": "comp"}
    assert parse_name("00_Funk3-98-Ab_solo_mic.flac")["style"] == "funk"
    for bad in ("00_BN1-129-Eb_comp_hex.wav", "00_BN4-129-Eb_comp_mic.wav", "00_Pop1-129-Eb_comp_mic.wav", "x.wav"):
        assert parse_name(bad) is None


def test_guitarset_meta_and_player_splits(guitarset: Path) -> None:
    src = GuitarSetSource(guitarset)
    assert isinstance(src, Source)
    ids = src.recording_ids()
    assert ids == sorted(n[:-len("_mic.wav")] for n in GUITARSET)
    splits = src.fixed_splits()
    assert set(splits) == set(ids)
    for rid, split in splits.items():
        assert split == {"04": "validation", "05": "test"}.get(rid[:2], "train")
    rec = src.load("01_Funk2-108-F#_solo")
    assert rec.audio.dtype == np.float32 and len(rec.audio) == int(2.1 * SR) and rec.sample_rate == SR
    assert rec.meta == {"player": "01", "style": "funk", "style_code": "Funk", "progression": 2, "tempo": 108,
                        "key": "F#", "mode": "solo", "file": "01_Funk2-108-F#_solo_mic.wav",
                        "original_sample_rate": SR, "original_channels": 1, "format": "wav"}
    # the audio folder itself is accepted too, with the same fingerprint
    assert GuitarSetSource(guitarset / "audio_mono-mic").spec() == src.spec()
    assert src.spec()["split_players"] == {"train": ["00", "01", "02", "03"], "validation": ["04"], "test": ["05"]}
    assert src.warnings == []


def test_guitarset_custom_split_players(guitarset: Path) -> None:
    custom = {"train": ["00", "01", "02"], "validation": [3], "test": ["4"]}
    src = GuitarSetSource(guitarset, split_players=custom)
    splits = src.fixed_splits()
    assert not any(rid.startswith("05_") for rid in src.recording_ids())
    assert {rid[:2]: s for rid, s in splits.items()} == {"00": "train", "01": "train", "02": "train",
                                                         "03": "validation", "04": "test"}
    assert len(src.warnings) == 1 and "player 05" in src.warnings[0] and "2 recordings" in src.warnings[0]
    assert src.spec() != GuitarSetSource(guitarset).spec()
    with pytest.raises(FxbenchError, match="player 01 is in both"):
        GuitarSetSource(guitarset, split_players={"train": ["00", "01"], "validation": ["01"], "test": ["05"]})


def test_guitarset_errors(tmp_path: Path, guitarset: Path) -> None:
    with pytest.raises(FxbenchError, match=r"download GuitarSet .*PATH/audio_mono-mic/\*\.wav") as e:
        GuitarSetSource(tmp_path)
    assert e.value.exit_code == 2
    (tmp_path / "audio_mono-mic").mkdir()
    with pytest.raises(FxbenchError, match="has no audio files; download GuitarSet"):
        GuitarSetSource(tmp_path)
    shutil.copytree(guitarset / "audio_mono-mic", tmp_path / "audio_mono-mic", dirs_exist_ok=True)
    write(tmp_path / "audio_mono-mic" / "00_BN1-129-Eb_comp_mix.wav", SR, 2.1)
    with pytest.raises(FxbenchError, match=r"00_BN1-129-Eb_comp_mix\.wav; expected .*_mic\.wav") as e:
        GuitarSetSource(tmp_path)
    assert e.value.exit_code == 2
