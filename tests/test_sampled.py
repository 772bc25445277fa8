"""Sampled (continuous) parameters: seeded draws per clip, real builds and loads, and their metrics."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.dataset.build import build_dataset
from fxbench.dataset.load import load_hf, load_splits
from fxbench.metrics import compute_metrics, uniform_guess_mae
from fxbench.render import GridRenderer, from_int16
from fxbench.sampling import draws
from fxbench.sources import open_source
from fxbench.task import parse_task

SAMPLED = """\
task: small_sampled
version: 1
description: Distortion and a log-scaled knob, for tests.
effect: {plugin: Compressor, fixed: {ratio: 4.0}}
parameters:
  - {name: threshold_db, unit: dB, range: [-40.0, -10.0], sampling: uniform, tolerance: 0.1}
  - {name: attack_ms, unit: ms, range: [1.0, 100.0], sampling: log}
dataset: {clips: 6, clips_per_recording: 1, draws_per_clip: 3}
"""


@pytest.fixture(scope="module")
def task():
    return parse_task(SAMPLED, "small_sampled.yaml")


@pytest.fixture(scope="module")
def dataset(task, tmp_path_factory):
    out = tmp_path_factory.mktemp("sampled") / "small_sampled"
    build_dataset(task, open_source("synth", task, 0), 0, out, progress=False, workers=1)
    return out


def test_two_tasks_on_the_same_clips_draw_independent_settings():
    from fxbench.task import load_task

    a, b = load_task("distortion"), load_task("lowpass")  # one parameter each, the same clips
    assert not np.allclose(a.parameters[0].scale(draws(a, 0, "clip-a")["drive_db"]),
                           b.parameters[0].scale(draws(b, 0, "clip-a")["cutoff_frequency_hz"]))


def test_a_sampled_manifest_s_fingerprint_checks_out_with_its_draws_version(dataset):
    import json

    from fxbench.dataset.build import fingerprint_ok

    manifest = json.loads((dataset / "fxbench.json").read_text())
    assert fingerprint_ok(manifest)
    assert not fingerprint_ok({**manifest, "draws_version": manifest["draws_version"] - 1})


def test_draws_depend_on_task_seed_and_clip_only(task):
    a = draws(task, 0, "clip-a")
    assert all(np.array_equal(a[k], v) for k, v in draws(task, 0, "clip-a").items())
    assert not np.array_equal(a["threshold_db"], draws(task, 0, "clip-b")["threshold_db"])
    assert not np.array_equal(a["threshold_db"], draws(task, 1, "clip-a")["threshold_db"])
    assert a["threshold_db"].shape == (3,) and a["threshold_db"].dtype == np.float32


def test_log_draws_are_uniform_on_the_log_axis(task):
    p = task.parameters[1]
    v = np.concatenate([draws(task, 0, f"c{i}")["attack_ms"] for i in range(2000)])
    assert 1.0 <= v.min() and v.max() <= 100.0
    # half the draws below the geometric middle (10 ms), not the arithmetic one (50.5 ms)
    assert abs(np.mean(v < 10.0) - 0.5) < 0.03
    assert p.scale(10.0) == pytest.approx(0.5) and p.unscale(0.5) == pytest.approx(10.0)


def test_build_stores_the_settings_each_row_was_rendered_at(task, dataset):
    import datasets

    dd = load_hf(dataset, "small_sampled")
    rows = dd["train"].cast_column("audio", datasets.Audio(decode=False)).with_format("numpy")[:]
    n = len(rows["id"])
    assert n == 3 * len(set(rows["clip_id"])) and sorted(set(rows["grid_index"].tolist())) == [0, 1, 2]
    assert len(set(rows["id"])) == n
    for p in task.parameters:
        assert np.allclose(rows[f"{p.name}_scaled"], p.scale(rows[p.name].astype(np.float64)), atol=1e-6)
        assert 0 <= rows[f"{p.name}_scaled"].min() and rows[f"{p.name}_scaled"].max() <= 1
    # row 0's audio is the dry clip rendered at exactly the stored draw
    from fxbench.dataset.audio import decode_audio

    dry = load_hf(dataset, "dry")["train"].cast_column("audio", datasets.Audio(decode=False))
    dry_pcm = {c: decode_audio(a) for c, a in zip(dry["clip_id"], dry["audio"])}
    clip = str(rows["clip_id"][0])
    values = draws(task, 0, clip)
    assert values["threshold_db"][int(rows["grid_index"][0])] == rows["threshold_db"][0]
    want = GridRenderer(task).render_at(dry_pcm[clip], values)[int(rows["grid_index"][0])]
    assert np.array_equal(decode_audio(dd["train"].cast_column("audio", datasets.Audio(decode=False))[0]["audio"]),
                          want)


def test_splits_load_with_continuous_targets(task, dataset):
    splits = load_splits(dataset, task)
    y = splits["train"].y
    assert y.shape == (len(splits["train"]), 2) and len(np.unique(y[:, 0])) == len(y)  # no grid
    assert set(splits["test"].grid_index.tolist()) <= {0, 1, 2}


@pytest.mark.slow
def test_workers_give_byte_identical_sampled_shards(task, dataset, tmp_path):
    from fxbench.dataset.cache import read_manifest

    two = build_dataset(task, open_source("synth", task, 0), 0, tmp_path / "two", progress=False, workers=2)
    assert two["files"] == read_manifest(dataset)["files"]


def test_sampled_metrics_by_hand(task):
    y = np.array([[0.0, 0.5], [1.0, 0.5], [0.5, 1.0], [0.25, 0.0]])
    p = y + np.array([[0.05, 0.0], [-0.2, 0.5], [0.0, 0.0], [0.1, 0.04]])
    m = compute_metrics(task, y, p)
    assert m["mae"] == pytest.approx(np.abs(p - y).mean())
    # tolerance 0.1 for threshold_db (from the file), the default 0.05 for attack_ms
    assert m["per_param_within_tolerance"] == {"threshold_db": 0.75, "attack_ms": 0.75}
    assert m["within_tolerance"] == pytest.approx(0.75) and "grid_accuracy" not in m  # row 1 misses both
    assert m["per_param_mae_units"]["threshold_db"] == pytest.approx((0.05 + 0.2 + 0 + 0.1) / 4 * 30)
    # log axis: the error in ms of the values themselves, 0.5 -> 1.0 is 10 ms -> 100 ms
    assert m["per_param_mae_units"]["attack_ms"] == pytest.approx((90 + 1 * (10 ** 0.08 - 1)) / 4)
    assert m["per_param_mse_units"]["threshold_db"] == pytest.approx((1.5 ** 2 + 6 ** 2 + 3 ** 2) / 4)
    # chance: E|U - y| = (y^2 + (1 - y)^2) / 2, here by hand for y = 0, 1, 0.5, 0.25
    assert m["per_param_chance_mae"]["threshold_db"] == pytest.approx((0.5 + 0.5 + 0.25 + 0.3125) / 4)
    assert m["chance_mae"] == pytest.approx((uniform_guess_mae(y[:, 0]) + uniform_guess_mae(y[:, 1])) / 2)


def test_uniform_guess_mae_matches_a_simulation():
    y = np.random.default_rng(0).random(50)
    guesses = np.random.default_rng(1).random((20000, 1))
    assert uniform_guess_mae(y) == pytest.approx(np.abs(guesses - y).mean(), abs=3e-3)


def test_confusion_matrix_of_a_sampled_task(task, tmp_path):
    from fxbench.plots import confusion_matrix_png

    y = np.random.default_rng(0).random((20, 2))
    path = confusion_matrix_png(task, y, y, tmp_path / "c.png")
    assert path.stat().st_size > 0


def test_grid_tasks_keep_their_metrics(small_task):
    m = compute_metrics(small_task, np.zeros((2, 1)), np.zeros((2, 1)))
    assert m["grid_accuracy"] == 1.0 and "within_tolerance" not in m and "per_param_mse" not in m


def test_a_sampled_record_passes_the_record_schema(task):
    from fxbench.record_schema import Metrics

    y = np.random.default_rng(0).random((5, 2))
    Metrics.model_validate(compute_metrics(task, y, np.clip(y + 0.1, 0, 1)))


def test_renders_change_with_each_draw(task):
    from fxbench.render import to_int16
    from fxbench.sources.synth import synth_recording

    x = synth_recording(0, 1, 2.0, 44100, 6).audio[:88200]
    pcm = to_int16(x / np.abs(x).max() * 0.89)
    out = GridRenderer(task).render_at(pcm, {"threshold_db": np.array([-40.0, -10.0], np.float32),
                                             "attack_ms": np.array([10.0, 10.0], np.float32)})
    assert np.abs(from_int16(out[0]) - from_int16(out[1])).mean() > 1e-3


def test_log_scale_of_a_non_positive_guess_is_finite_and_below_the_range(task):
    """A submitted guess of 0 ms on a log axis is clipped to the range by scoring, not turned into NaN."""
    s = task.parameters[1].scale(np.array([0.0, -5.0, 1.0, 100.0]))
    assert np.isfinite(s).all() and s[0] < 0 and s[1] < 0 and s[2:].tolist() == pytest.approx([0.0, 1.0])
