"""The dataset builder end to end: real renders, real parquet, loaded with `datasets.load_dataset`."""
from __future__ import annotations

import os

import numpy as np
import pytest

from fxbench.dataset.audio import decode_audio
from fxbench.dataset.build import build_dataset, fingerprint
from fxbench.dataset.cache import ensure_dataset, read_manifest
from fxbench.sources import open_source
from fxbench.task import load_task


def test_load_dataset_offline_gives_three_splits(small_dataset, small_task):
    import datasets

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    ds = datasets.load_dataset(str(small_dataset), "small_bitcrush")
    assert set(ds) == {"train", "validation", "test"}
    assert sum(len(s) for s in ds.values()) == 12 * 17
    ds = ds.cast_column("audio", datasets.Audio(sampling_rate=44100, decode=False))  # no torchcodec here
    row = ds["test"][0]
    assert {r["split"] for r in ds["test"]} == {"test"}
    for col in ("id", "split", "recording_id", "clip_id", "grid_index", "bit_depth", "bit_depth_scaled", "mel", "audio"):
        assert col in row
    assert np.asarray(row["mel"]).shape == (128, 173)
    assert len(decode_audio(row["audio"])) == 88200
    assert row["bit_depth_scaled"] == pytest.approx(row["bit_depth"] / 16)
    dry = datasets.load_dataset(str(small_dataset), "dry")
    assert sum(len(s) for s in dry.values()) == 12


def test_no_recording_or_clip_straddles_splits(small_dataset):
    import datasets

    ds = datasets.load_dataset(str(small_dataset), "small_bitcrush")
    dry = datasets.load_dataset(str(small_dataset), "dry")
    for key in ("recording_id", "clip_id"):
        owners: dict[str, set] = {}
        for split, d in ds.items():
            for v in d[key]:
                owners.setdefault(v, set()).add(split)
        assert all(len(s) == 1 for s in owners.values()), f"a {key} sits in two splits"
    for split in ds:  # the dry clip of every render lives in the same split
        assert set(ds[split]["clip_id"]) == set(dry[split]["clip_id"])
    # every clip has all 17 renders
    clips = ds["train"]["clip_id"]
    assert all(clips.count(c) == 17 for c in set(clips))


def test_stored_mel_is_the_stored_audio_s_mel(small_dataset, small_task):
    import datasets

    from fxbench.features import MelFeatures

    ds = datasets.load_dataset(str(small_dataset), "small_bitcrush")["validation"]
    row = ds.cast_column("audio", datasets.Audio(decode=False))[5]
    audio = decode_audio(row["audio"]).astype(np.float32) / 32768
    mel = MelFeatures(small_task.features, 44100)(audio[None])[0]
    assert np.abs(mel - np.asarray(row["mel"])).max() < 2e-3  # float16 storage


def test_same_seed_same_bytes_other_seed_other_data(small_dataset, small_task, tmp_path):
    again = tmp_path / "again"
    m2 = build_dataset(small_task, open_source("synth", small_task, 0), 0, again, progress=False)
    m1 = read_manifest(small_dataset)
    assert m1["fingerprint"] == m2["fingerprint"]
    assert m1["files"] == m2["files"], "same task, source and seed must give byte-identical shards"
    assert m1["splits"] == m2["splits"]
    src1 = open_source("synth", small_task, 1)
    assert fingerprint(small_task, src1, 1) != m1["fingerprint"]
    m3 = build_dataset(small_task, src1, 1, tmp_path / "seed1", progress=False)
    assert m3["files"] != m1["files"]


class _Crash(Exception):
    pass


class _CrashingSource:
    """A real synth source that dies half-way, as a Ctrl-C or a full disk would."""

    def __init__(self, inner, after: int, exc: BaseException) -> None:
        self.inner, self.after, self.exc, self.name, self.loaded = inner, after, exc, inner.name, 0

    def spec(self):
        return self.inner.spec()

    def recording_ids(self):
        return self.inner.recording_ids()

    def load(self, rid):
        self.loaded += 1
        if self.loaded > self.after:
            raise self.exc
        return self.inner.load(rid)


@pytest.mark.parametrize("exc", [_Crash("disk full"), KeyboardInterrupt()])
def test_interrupted_build_leaves_previous_dataset_or_none(small_task, tmp_path, exc):
    out = tmp_path / "ds"
    crashing = _CrashingSource(open_source("synth", small_task, 0), after=5, exc=exc)
    with pytest.raises(type(exc)):
        build_dataset(small_task, crashing, 0, out, progress=False)
    assert not out.exists() and os.listdir(tmp_path) == [], "a half-built dataset was left behind"

    good = build_dataset(small_task, open_source("synth", small_task, 0), 0, out, progress=False)
    crashing = _CrashingSource(open_source("synth", small_task, 0), after=5, exc=exc)
    with pytest.raises(type(exc)):
        build_dataset(small_task, crashing, 0, out, progress=False)
    assert read_manifest(out) == good and os.listdir(tmp_path) == ["ds"]


def test_cache_reuses_a_complete_dataset(small_task, tmp_path):
    src = open_source("synth", small_task, 0)
    path, manifest, built = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    assert built is not None and path.is_relative_to(tmp_path)
    path2, manifest2, built2 = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    assert built2 is None and path2 == path and manifest2 == manifest
    # a folder without its manifest (a crashed build from an old version, say) is not trusted
    (path / "fxbench.json").unlink()
    _, _, built3 = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    assert built3 is not None
    # nor one that lost a shard
    next(path.glob("small_bitcrush/test-*.parquet")).unlink()
    _, manifest4, built4 = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    assert built4 is not None and manifest4["files"] == manifest["files"]
    import yaml

    card = yaml.safe_load((path / "README.md").read_text().split("---\n")[1])
    assert [c["config_name"] for c in card["configs"]] == ["small_bitcrush", "dry"]


def test_a_damaged_shard_is_a_clear_error(small_task, tmp_path):
    from fxbench.dataset.load import load_splits
    from fxbench.errors import FxbenchError

    import json

    from fxbench.checksums import sha256_file

    out = tmp_path / "ds"
    build_dataset(small_task, open_source("synth", small_task, 0), 0, out, progress=False)
    shard = next(out.glob("small_bitcrush/train-*.parquet"))
    shard.write_bytes(b"not parquet")
    with pytest.raises(FxbenchError, match=f"shard {shard.relative_to(out)} of .* does not match the sha256"):
        load_splits(out, small_task)
    manifest = json.loads((out / "fxbench.json").read_text())  # a manifest that vouches for the damage
    manifest["files"][shard.relative_to(out).as_posix()] = sha256_file(shard)
    (out / "fxbench.json").write_text(json.dumps(manifest))
    with pytest.raises(FxbenchError, match="delete the folder and run again"):
        load_splits(out, small_task)


def test_rebuilding_in_place_is_never_served_stale(small_task, tmp_path):
    """`datasets` caches a local folder by its card's file names, so shards are named by content."""
    import datasets

    out = tmp_path / "ds"
    build_dataset(small_task, open_source("synth", small_task, 0), 0, out, progress=False)
    first = datasets.load_dataset(str(out), "small_bitcrush")["train"]["id"]
    build_dataset(small_task, open_source("synth", small_task, 2), 2, out, progress=False)
    second = datasets.load_dataset(str(out), "small_bitcrush")["train"]["id"]
    assert first != second


def test_card_yaml_lists_configs_features_sizes_and_licence(small_dataset):
    import yaml

    card = yaml.safe_load((small_dataset / "README.md").read_text().split("---\n")[1])
    info = {c["config_name"]: c for c in card["dataset_info"]}
    sizes = {s["name"]: s["num_examples"] for s in info["small_bitcrush"]["splits"]}
    assert sum(sizes.values()) == 12 * 17 and sizes["test"] == 17
    assert {f["name"] for f in info["small_bitcrush"]["features"]} >= {"id", "mel", "audio", "bit_depth"}
    assert card["license"] == "mit" and card["fxbench"]["tasks"] == {"small_bitcrush": 1}
    assert len(card["fxbench"]["fingerprint"]) == 64


def test_a_recording_lands_in_the_same_split_whatever_the_task_size():
    from collections import Counter

    from fxbench.dataset.clips import assign_splits
    from fxbench.sources import open_source

    maps = {}
    for name in ("bitcrush", "samplerate", "delay", "limiter"):
        task = load_task(name)
        src = open_source("synth", task, 0)
        maps[name] = assign_splits(src.recording_ids(), task.splits, 0, key=src.split_key)
    biggest = max(maps.values(), key=len)
    for m in maps.values():
        assert all(biggest[rid] == split for rid, split in m.items())
    counts = Counter(biggest[f"synth-p{i % 6:02d}-r{i:04d}"] for i in range(400))  # 40 full blocks of 10
    assert counts == {"train": 320, "validation": 40, "test": 40}
    other_seed = assign_splits(list(biggest), load_task("delay").splits, 1, key=src.split_key)
    assert other_seed != biggest


def test_tiny_sources_still_get_every_split():
    from fxbench.dataset.clips import assign_splits
    from fxbench.task import SplitSpec

    for n in range(3, 12):
        got = set(assign_splits([f"f{i}" for i in range(n)], SplitSpec(), 0).values())
        assert got == {"train", "validation", "test"}, n


@pytest.mark.slow
def test_worker_processes_give_byte_identical_shards(small_task, small_dataset, tmp_path):
    """Two spawned workers render ahead; the build loop still decides in order: same bytes as one process."""
    serial = read_manifest(small_dataset)
    parallel = build_dataset(small_task, open_source("synth", small_task, 0), 0, tmp_path / "par", progress=False,
                             workers=2)
    assert parallel["files"] == serial["files"] and parallel["splits"] == serial["splits"]


@pytest.mark.slow
def test_smaller_shards_hold_the_same_rows_in_the_same_order(small_task, small_dataset, tmp_path, monkeypatch):
    """A split in several shards (the last one cut at the split's budget) loads as the same rows, in order;
    workers write those shards themselves, byte for byte as one process does."""
    import fxbench.dataset.build as build
    from fxbench.dataset.load import load_hf

    monkeypatch.setattr(build, "SHARD_CLIPS", 4)
    one = build_dataset(small_task, open_source("synth", small_task, 0), 0, tmp_path / "one", progress=False,
                        workers=1)
    two = build_dataset(small_task, open_source("synth", small_task, 0), 0, tmp_path / "two", progress=False,
                        workers=2)
    assert one["files"] == two["files"] and one["splits"] == two["splits"]
    train = sorted(f for f in one["files"] if f.startswith("small_bitcrush/train-"))
    assert len(train) == 3 and one["splits"]["train"]["clips"] == 10  # 4 + 4 + 2 of a 4-clip group
    assert not (tmp_path / "one" / ".work").exists()
    import datasets

    for config in ("small_bitcrush", "dry"):
        want, got = load_hf(small_dataset, config), load_hf(tmp_path / "one", config)
        for split in ("train", "validation", "test"):
            a, b = (d[split].cast_column("audio", datasets.Audio(decode=False)) for d in (want, got))
            a, b = a.with_format("numpy", columns=["clip_id", "mel"])[:] | {"audio": a["audio"]}, \
                b.with_format("numpy", columns=["clip_id", "mel"])[:] | {"audio": b["audio"]}
            assert list(a["clip_id"]) == list(b["clip_id"])
            assert np.array_equal(a["mel"], b["mel"]) and a["audio"] == b["audio"]


_SEMAPHORE_GONE = r"""
import multiprocessing, sys
from multiprocessing import context, synchronize
import fxbench.dataset.forkserver_quiet  # what the build's fork server imports first

lock = multiprocessing.get_context("forkserver").Lock()
context.set_spawning_popen(object())  # lets the lock be pickled, as for a worker being started
state = lock.__getstate__()
context.set_spawning_popen(None)
del lock  # the build has ended: its semaphore is removed
try:
    synchronize.Lock.__new__(synchronize.Lock).__setstate__(state)  # what a late worker does
except FileNotFoundError:
    sys.excepthook(*sys.exc_info())  # what the fork server does with it
print("late worker done", file=sys.stderr)
try:
    open("/nonexistent/fxbench")
except FileNotFoundError:
    sys.excepthook(*sys.exc_info())
"""


def test_fork_server_is_quiet_only_about_a_pool_that_has_gone():
    """Ctrl-C just as the pool starts its workers: a late worker fails to find the pool's semaphores. That
    traceback used to print under the CLI's one-line message; any other failure must still print."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _SEMAPHORE_GONE], capture_output=True, text=True, timeout=60)
    quiet, loud = out.stderr.split("late worker done")
    assert "Traceback" not in quiet and "SemLock" not in quiet
    assert "Traceback" in loud and "/nonexistent/fxbench" in loud


def test_flac_cells_are_lossless_and_the_same_bytes_every_time(small_task):
    """Real renders (the quiet and the crushed ones) and the extremes of 16 bits come back sample for sample."""
    from fxbench.dataset.audio import audio_cell, encode_flac, sample_rate_of
    from fxbench.dataset.clips import ClipPolicy, cut_clips
    from fxbench.render import GridRenderer

    src = open_source("synth", small_task, 0)
    clip = next(iter(cut_clips(src.load(src.recording_ids()[0]), ClipPolicy.for_task(small_task, src))))
    edges = np.array([-32768, 32767, 0, 1, -1] * 100, dtype=np.int16)
    for pcm in [*GridRenderer(small_task).render(clip.pcm), clip.pcm, edges]:
        data = encode_flac(pcm, 44100)
        assert data[:4] == b"fLaC" and encode_flac(pcm.copy(), 44100) == data
        assert np.array_equal(decode_audio(data), pcm) and decode_audio(data).dtype == np.int16
        assert sample_rate_of(data) == 44100
    cell = audio_cell(clip.pcm, 44100, "x.flac")
    assert cell["path"] == "x.flac" and np.array_equal(decode_audio(cell), clip.pcm)
    assert len(encode_flac(clip.pcm, 44100)) < clip.pcm.nbytes * 0.8, "FLAC should compress guitar audio"


def test_audio_is_a_datasets_audio_feature_holding_the_renderer_s_pcm(small_dataset, small_task):
    import datasets

    from fxbench.render import GridRenderer

    ds = datasets.load_dataset(str(small_dataset), "small_bitcrush")
    dry = datasets.load_dataset(str(small_dataset), "dry")
    assert ds["test"].features["audio"] == datasets.Audio(sampling_rate=44100)
    assert dry["test"].features["audio"] == datasets.Audio(sampling_rate=44100)
    wet = ds["test"].cast_column("audio", datasets.Audio(decode=False))
    dry_row = dry["test"].cast_column("audio", datasets.Audio(decode=False))[0]
    assert dry_row["audio"]["path"] == f"{dry_row['clip_id']}.flac"
    dry_pcm = decode_audio(dry_row["audio"])
    renders = GridRenderer(small_task).render(dry_pcm)
    rows = [r for r in wet if r["clip_id"] == dry_row["clip_id"]]
    assert len(rows) == 17
    for row in rows:
        assert row["audio"]["path"] is None  # a wet cell names nothing that could spell its row
        pcm = decode_audio(row["audio"])
        assert pcm.shape == (88200,) and np.array_equal(pcm, renders[row["grid_index"]])


def test_row_ids_are_keyed_hashes_that_do_not_spell_the_grid_point(small_dataset):
    import datasets

    from fxbench.dataset.shards import row_id

    key = read_manifest(small_dataset)["fingerprint"]
    ds = datasets.load_dataset(str(small_dataset), "small_bitcrush")
    ids = []
    for split in ds.values():
        cols = split.select_columns(["id", "clip_id", "grid_index"]).to_dict()
        for rid, cid, g in zip(cols["id"], cols["clip_id"], cols["grid_index"]):
            assert rid == row_id(key, cid, g)
            assert len(rid) == 16 and int(rid, 16) >= 0 and cid not in rid and f"g{g:03d}" not in rid
            ids.append(rid)
    assert len(set(ids)) == len(ids) == 12 * 17
    assert row_id("another key", "c", 0) != row_id(key, "c", 0) != row_id(key, "c", 1)


def test_card_is_complete_and_loads_without_a_warning(small_dataset, datasets_warnings):
    import datasets
    import yaml

    for config in ("small_bitcrush", "dry"):
        datasets.load_dataset(str(small_dataset), config)
    assert not [m for m in datasets_warnings if "dataset_info" in m], datasets_warnings
    text = (small_dataset / "README.md").read_text()
    card = yaml.safe_load(text.split("---\n")[1])
    for info in card["dataset_info"]:
        assert [s["name"] for s in info["splits"]] == ["train", "validation", "test"]
        assert all(s["num_bytes"] > 0 and s["num_examples"] > 0 for s in info["splits"])
        assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])
        config_dir = small_dataset / info["config_name"]
        assert info["download_size"] == sum(f.stat().st_size for f in config_dir.glob("*.parquet"))
    assert card["size_categories"] == ["n<1K"] and card["task_categories"] == ["audio-classification"]
    assert card["pretty_name"] == "fxbench small_bitcrush" and card["license"] == "mit"
    assert "@techreport{" in text and "Parameter Estimation of Digital Audio Effects from Spectrograms" in text
    assert "Lee, Richard and Buck, Ethan and Larlarb, Wesley" in text and "CS231n" in text


def test_size_categories_are_the_hub_s_buckets():
    from fxbench.dataset.card import size_category

    assert [size_category(n) for n in (0, 999, 1000, 2800, 9999, 10_000, 204_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "1K<n<10K", "1K<n<10K", "10K<n<100K", "100K<n<1M"]


def test_the_mel_column_is_the_features_of_the_stored_audio(small_dataset, small_task):
    """Features are computed from exactly what is stored: anyone recomputing them from the audio column on
    the same machine gets the Mel column bit for bit (float arithmetic differs between CPUs, so no golden
    hash of the bytes is kept)."""
    from fxbench.dataset.audio import decode_audio
    from fxbench.dataset.load import load_hf
    from fxbench.features import MelFeatures
    from fxbench.render import from_int16

    ds = load_hf(small_dataset, "small_bitcrush")["test"]
    mel = MelFeatures(small_task.features, small_task.sample_rate)
    rows = ds.with_format("numpy", columns=["mel"])[:6]["mel"]
    audio = np.stack([decode_audio(c) for c in ds.select_columns(["audio"]).with_format("arrow")[:6]["audio"].to_pylist()])
    again = mel(from_int16(audio)).astype(np.float16)
    assert np.array_equal(np.asarray(rows, dtype=np.float16), again)
