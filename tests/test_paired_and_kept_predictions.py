"""The paired input track (wet and dry as two channels) and the predictions a record keeps, on the real
small_bitcrush dataset: real training, real records, `fxbench rescore` from the kept predictions."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.inputs import with_input
from fxbench.leaderboard.markdown import render_leaderboard
from fxbench.models.base import TrainConfig
from fxbench.results import decode_predictions, read_record, validate_record
from fxbench.runner import RunConfig, execute


def _run(small_dataset, model: str, input: str) -> tuple[dict, dict]:
    cfg = RunConfig(task="small_bitcrush", model=model, data=str(small_dataset), input=input,
                    train=TrainConfig(epochs=1, progress=False))
    return execute(cfg)


@pytest.fixture(scope="module")
def paired(small_dataset):
    return _run(small_dataset, "cnn", "paired")


def test_paired_input_puts_the_dry_clip_beside_the_wet_one(small_splits):
    test = small_splits["test"]
    x = with_input(test, "paired").x
    assert x.shape == (len(test), 2, *test.x.shape[2:])
    assert np.array_equal(x[:, :1], test.x) and np.array_equal(x[:, 1:], test.dry_x(test.clip_ids))
    assert not np.array_equal(x[:, 0], x[:, 1])  # the wet row is not its dry clip


def test_a_paired_cnn_record_names_its_track_and_keeps_its_predictions(paired):
    record, outputs = paired
    assert record["input"] == "paired" and record["config"]["in_channels"] == 2
    ids, values = decode_predictions(record["predictions"])
    assert ids == sorted(ids) and values.shape == (record["n_test"], 1)
    kept = dict(zip(ids, values[:, 0].tolist()))
    test_ids = sorted(kept)  # the kept rows are the predicted ones, bit for bit, whatever their order
    assert sorted(np.float32(outputs["y_pred"][:, 0]).tolist()) == sorted(kept[i] for i in test_ids)
    assert record["metrics"]["rerender"]["n"] == record["n_test"]


def test_a_wet_only_model_is_refused_the_paired_track_before_any_work(small_dataset):
    with pytest.raises(FxbenchError, match="takes --input wet only"):
        _run(small_dataset, "encdec", "paired")


def test_tampered_kept_predictions_are_rejected(paired):
    record = json.loads(json.dumps(paired[0]))
    validate_record(record, "ok")
    record["predictions"]["data"] = record["predictions"]["data"][::-1]
    with pytest.raises(FxbenchError, match="predictions"):
        validate_record(record, "r.json")
    record = json.loads(json.dumps(paired[0]))
    record["predictions"]["ids"] = record["predictions"]["ids"][::-1]
    with pytest.raises(FxbenchError, match="sorted"):
        validate_record(record, "r.json")


def test_rescore_reproduces_metrics_from_the_kept_predictions(paired, small_dataset, tmp_path, capsys):
    path = tmp_path / "small_bitcrush" / "cnn.json"
    path.parent.mkdir()
    record = dict(paired[0])
    record["metrics"] = {k: v for k, v in record["metrics"].items() if k != "rerender"}  # as if made before it
    path.write_text(json.dumps(record))
    assert main(["rescore", str(tmp_path), "--data", str(small_dataset), "--quiet"]) == 0
    new = read_record(path)
    assert new["metrics"]["mae"] == pytest.approx(paired[0]["metrics"]["mae"], abs=1e-9)
    assert new["row_abs_errors"] == paired[0]["row_abs_errors"]
    assert new["metrics"]["rerender"]["skill"] == pytest.approx(paired[0]["metrics"]["rerender"]["skill"], abs=1e-6)
    assert "rescored" in capsys.readouterr().out


def test_rescore_refuses_a_record_without_kept_predictions(paired, tmp_path, capsys):
    record = dict(paired[0], predictions=None, schema_version=4)
    record.pop("input")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(record))
    before = path.read_bytes()
    assert main(["rescore", str(path), "--quiet"]) == 1
    assert "keeps no predictions" in capsys.readouterr().err and path.read_bytes() == before


def test_the_leaderboard_ranks_the_paired_track_apart(paired, small_dataset):
    wet, _ = _run(small_dataset, "mean", "wet")
    page = render_leaderboard([wet, paired[0]], "results")
    assert "### small_bitcrush · synth → synth (train" in page
    assert "paired input: the model hears the dry clip too" in page
    sections = page.split("### small_bitcrush · ")
    paired_section = next(s for s in sections if "paired input" in s.splitlines()[0])
    assert "| cnn" in paired_section and "| mean" not in paired_section
