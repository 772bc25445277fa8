"""The re-render metric: predicted settings rendered again through the task's own effect and compared with the
true wet clips in the audio domain, on the real small_bitcrush dataset and through `fxbench score`."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.rerender import rerender_metrics, skipped_because
from fxbench.scoring import score_file
from fxbench.task import load_task


def _csv(path, ids, scaled):
    path.write_text("id,bit_depth_scaled\n" + "".join(f"{i},{float(v)!r}\n" for i, v in zip(ids, scaled[:, 0])))
    return path


def test_scoring_the_true_settings_sounds_identical_and_the_mean_setting_scores_zero(small_splits, tmp_path):
    test, train = small_splits["test"], small_splits["train"]
    truth, _ = score_file("small_bitcrush", _csv(tmp_path / "t.csv", test.ids, test.y), progress=False)
    r = truth["metrics"]["rerender"]
    assert r["distance"] < 1e-6 and r["logmel_l1"] < 1e-6 and r["skill"] == pytest.approx(1.0)
    assert r["mean_distance"] > 0.05 and r["random_distance"] > 0.05 and r["n"] == len(test.ids)
    mean = np.repeat(train.y.mean(axis=0)[None], len(test.ids), axis=0)
    flat, _ = score_file("small_bitcrush", _csv(tmp_path / "m.csv", test.ids, mean), progress=False)
    assert flat["metrics"]["rerender"]["skill"] == pytest.approx(0.0, abs=1e-6)
    assert flat["metrics"]["rerender"]["settings"]["fft_sizes"] == [512, 1024, 2048]


def test_the_distance_grows_with_the_parameter_error(small_task, small_dataset, small_splits):
    test, train = small_splits["test"], small_splits["train"]
    wrong = [rerender_metrics(small_task, small_dataset, test.ids, test.clip_ids,
                              np.clip(test.y + off, 0, 1), train.y.mean(axis=0))["distance"]
             for off in (0.0, 0.1, 0.4)]
    assert wrong[0] < wrong[1] < wrong[2], wrong


def test_a_pure_detection_task_is_skipped_and_says_why():
    assert "no knobs" in skipped_because(load_task("detect"))
    assert skipped_because(load_task("chain")) is None and skipped_because(load_task("bitcrush")) is None
