"""Real recordings in, a real Hugging Face dataset out: folder and GuitarSet sources through the builder,
`fxbench data verify`, `--data`, and the publish errors a user without a token or network meets."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from fxbench.cli import main
from fxbench.dataset.audio import decode_audio
from fxbench.sources.synth import synth_recording

# (file, sample rate, channels, writer kwargs): guitar-like audio in many formats, rates and layouts
FILES = [("a/mono.wav", 44100, 1, {"bit_depth": 16}), ("a/stereo48.wav", 48000, 2, {"bit_depth": 16}),
         ("b/eight.wav", 44100, 1, {"bit_depth": 8}), ("b/hi96.flac", 96000, 1, {"bit_depth": 24}),
         ("c/take.mp3", 44100, 2, {}), ("c/take.ogg", 22050, 1, {}), ("d/take.aiff", 44100, 1, {"bit_depth": 16})]


def _guitar(sr: int, channels: int, index: int, seconds: float = 2.5) -> np.ndarray:
    x = synth_recording(7, index, seconds, 44100, 6).audio
    t = np.linspace(0, len(x) - 1, int(round(seconds * sr)))
    x = np.interp(t, np.arange(len(x)), x).astype(np.float32)  # crude, but fine: the source resamples it back
    return np.stack([x * (0.9 ** c) for c in range(channels)])


def _write(path: Path, sr: int, channels: int, index: int, seconds: float = 2.5, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", sr, channels, **kw) as f:
        f.write(_guitar(sr, channels, index, seconds))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("recordings")
    for i, (name, sr, ch, kw) in enumerate(FILES):
        _write(d / name, sr, ch, i, **kw)
    (d / "broken.wav").write_bytes(b"RIFF but not really a wave file" * 10)
    (d / "empty.flac").write_bytes(b"")
    _write(d / "short.wav", 44100, 1, 99, seconds=0.5, bit_depth=16)
    return d


def test_folder_build_loads_offline_and_names_skipped_files(folder, task_dir, tmp_path, capsys):
    import datasets

    out = tmp_path / "ds"
    assert main(["data", "build", "--task", "small_bitcrush", "--source", f"folder:{folder}", "--out", str(out),
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    for name in ("broken.wav", "empty.flac", "short.wav"):
        assert name in err
    assert "3 file(s) left out" in err
    ds = datasets.load_dataset(str(out), "small_bitcrush")
    owners: dict[str, set] = {}
    for split, d in ds.items():
        assert len(d) > 0
        for r in d["recording_id"]:
            owners.setdefault(r, set()).add(split)
    assert set(owners) == {name for name, *_ in FILES} and all(len(s) == 1 for s in owners.values())
    dry = datasets.load_dataset(str(out), "dry")["train"].cast_column("audio", datasets.Audio(decode=False))[0]
    meta = json.loads(dry["meta"])
    assert {"file", "original_sample_rate", "original_channels"} <= set(meta)
    assert len(decode_audio(dry["audio"])) == 88200


def test_folder_build_is_deterministic(folder, task_dir, tmp_path):
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task("small_bitcrush")
    m1 = build_dataset(task, open_source(f"folder:{folder}", task, 0), 0, tmp_path / "one", progress=False)
    m2 = build_dataset(task, open_source(f"folder:{folder}", task, 0), 0, tmp_path / "two", progress=False)
    assert m1["fingerprint"] == m2["fingerprint"] and m1["files"] == m2["files"]


def test_fake_guitarset_splits_by_player(task_dir, tmp_path, capsys):
    import datasets

    root = tmp_path / "GuitarSet" / "audio_mono-mic"
    styles = ["BN1-129-Eb", "Funk2-108-Eb", "Jazz3-150-C", "Rock1-130-A", "SS2-107-Ab", "BN3-154-E"]
    for p in range(6):
        for mode in ("comp", "solo"):
            _write(root / f"{p:02d}_{styles[p]}_{mode}_mic.wav", 44100, 1, 10 * p + (mode == "solo"), bit_depth=16)
    out = tmp_path / "ds"
    assert main(["data", "build", "--task", "small_bitcrush", "--source", f"guitarset:{tmp_path / 'GuitarSet'}",
                 "--out", str(out), "--quiet"]) == 0
    ds = datasets.load_dataset(str(out), "small_bitcrush")
    players = {s: {r[:2] for r in d["recording_id"]} for s, d in ds.items()}
    assert players["test"] == {"05"} and players["validation"] == {"04"}
    assert players["train"] <= {"00", "01", "02", "03"}
    (root / "00_nonsense.wav").write_bytes(b"")
    assert main(["data", "build", "--task", "small_bitcrush", "--source", f"guitarset:{tmp_path / 'GuitarSet'}",
                 "--out", str(tmp_path / "ds2"), "--quiet"]) == 2
    assert "00_nonsense.wav" in capsys.readouterr().err and not (tmp_path / "ds2").exists()


def test_verify_names_changed_missing_and_extra_shards(small_dataset, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    assert main(["data", "verify", str(copy)]) == 0
    assert "every shard matches" in capsys.readouterr().out
    shard = next(copy.glob("small_bitcrush/train-*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    next(copy.glob("dry/test-*.parquet")).unlink()
    (copy / "dry" / "extra.parquet").write_bytes(b"x")
    assert main(["data", "verify", str(copy)]) == 1
    out = capsys.readouterr()
    assert "changed shard small_bitcrush/train-" in out.out and "missing shard dry/test-" in out.out
    assert "extra shard dry/extra.parquet" in out.out and "3 problem(s)" in out.err


def test_run_on_a_built_folder_with_data(small_dataset, task_dir, tmp_path):
    out = tmp_path / "r.json"
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", str(small_dataset),
                 "--output", str(out), "--quiet"]) == 0
    rec = json.loads(out.read_text())
    manifest = json.loads((small_dataset / "fxbench.json").read_text())
    assert rec["dataset_fingerprint"] == manifest["fingerprint"] and rec["source"] == f"data:{small_dataset}"


@pytest.mark.parametrize("argv, needle", [
    (["run", "--task", "small_bitcrush", "--model", "mean", "--data", "someone/not-here"], "not in the local"),
    (["run", "--task", "small_bitcrush", "--model", "mean", "--data", "/no/such/folder"], "no such folder"),
])
def test_data_that_cannot_be_had_is_a_clear_error(argv, needle, task_dir, capsys):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_publish_refuses_offline_and_without_token(small_dataset, monkeypatch, tmp_path, capsys):
    assert main(["data", "publish", str(small_dataset), "--repo-id", "me/fx"]) == 1
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    assert main(["data", "publish", str(small_dataset), "--repo-id", "me/fx"]) == 1
    assert "no Hugging Face token" in capsys.readouterr().err
    assert main(["data", "publish", str(small_dataset), "--repo-id", "not-a-repo-id"]) == 2
