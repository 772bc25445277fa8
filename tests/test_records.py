"""The result record schema: every committed record still loads, and nothing else gets through."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.record_schema import SCHEMA_VERSION
from fxbench.results import read_record, read_records, validate_record, write_record

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "leaderboard" / "results"
A_RECORD = sorted((COMMITTED / "bitcrush").glob("cnn__seed0__*__on-*.json"))[0]  # a synth -> real cnn record
SCHEMA1 = Path(__file__).parent / "data" / "records" / "schema1_mean.json"


def _strict_json(text: str):
    def refuse(name: str):
        raise AssertionError(f"{name} written into a record")

    return json.loads(text, parse_constant=refuse)


def test_every_committed_record_loads_and_ranks():
    from fxbench.leaderboard import load_records

    files = sorted(COMMITTED.rglob("*.json"))
    versions = {json.loads(p.read_text())["schema_version"] for p in files}
    loaded = read_records(COMMITTED)
    assert [p for p, _ in loaded] == files and len(versions) > 1  # old schemas are upgraded on read
    assert {r["schema_version"] for _, r in loaded} == {SCHEMA_VERSION}
    df = load_records(COMMITTED)
    assert df["rankable"].all()  # every one was made with its installed task definition
    ranked = set(df.loc[df["group"] == 0, "task"])
    assert ranked == set(df["task"]) and {"bitcrush", "delay", "limiter", "samplerate"} <= ranked


def test_schema1_record_is_upgraded_then_validated():
    record = validate_record(json.loads(SCHEMA1.read_text()), "schema1")
    assert record["schema_version"] == SCHEMA_VERSION and record["condition"] == "synth_to_synth"
    assert record["blind"] is False and record["environment"]["torch_threads"] is None
    assert record["submission"] == {"kind": "model", "spec": "mean", "source": None, "units": None}


def _bad(tmp_path: Path, change) -> str:
    record = json.loads(A_RECORD.read_text())
    change(record)
    path = tmp_path / "bitcrush" / "bad.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    with pytest.raises(FxbenchError) as err:
        read_record(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    return msg


@pytest.mark.parametrize("change, needles", [
    (lambda r: r.update(extra_field=1), ["unknown field 'extra_field'", "remove it"]),
    (lambda r: r["environment"].update(gpu_model="x"), ["unknown field 'environment.gpu_model'"]),
    (lambda r: r.update(n_test="102"), ["field 'n_test'", "valid integer", "'102'", "regenerate"]),
    (lambda r: r.update(dataset_fingerprint="short"), ["field 'dataset_fingerprint'", "pattern"]),
    (lambda r: r["metrics"].update(mae=float("nan")), ["field 'metrics.mae' is NaN or inf"]),
    (lambda r: r["history"][0].update(val_loss=float("-inf")), ["field 'history[0].val_loss' is NaN or inf"]),
    (lambda r: r["metrics"]["per_param_mae"].update(bit_depth=1.2), ["metrics.per_param_mae.bit_depth",
                                                                    "less than or equal to 1"]),
    (lambda r: r["metrics"].update(mae=r["metrics"]["mae"] + 2e-6), ["'metrics.mae' is", "'row_abs_errors' average"]),
    (lambda r: r.update(n_test=101), ["field 'metrics.n' is 102 but 'n_test' is 101"]),
    (lambda r: (r.update(n_test=101), r["metrics"].update(n=101)),
     ["'row_abs_errors' has 102 rows but 'n_test' is 101"]),
    (lambda r: r.update(condition="synth_to_mars"), ["field 'condition'", "'synth_to_mars'"]),
    (lambda r: r.update(schema_version=99), ["unknown schema_version 99", "upgrade fxbench"]),
    (lambda r: r.update(schema_version=True), ["unknown schema_version True"]),
    (lambda r: r.pop("metrics"), ["field 'metrics' is missing"]),
])
def test_a_bad_record_is_one_line_naming_file_field_and_fix(tmp_path, change, needles):
    msg = _bad(tmp_path, change)
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_mae_within_rounding_of_its_rows_loads_and_ranks_by_the_rows(tmp_path):
    from fxbench.leaderboard import frame

    record = json.loads(A_RECORD.read_text())
    rows = record["row_abs_errors"]
    record["metrics"]["mae"] = math.fsum(rows) / len(rows) + 9e-7  # inside the tolerance: accepted
    df = frame([record])
    assert df["mae"].iloc[0] == pytest.approx(math.fsum(rows) / len(rows), abs=1e-15)


def test_duplicate_keys_in_a_record_file_are_rejected(tmp_path):
    path = tmp_path / "twice.json"
    path.write_text(A_RECORD.read_text().replace('"seed": 0,', '"seed": 0, "seed": 1,', 1))
    with pytest.raises(FxbenchError, match="key 'seed' appears twice"):
        read_record(path)


@pytest.mark.parametrize("where", ["top", "environment"])
def test_blind_and_data_revision_are_accepted(where):
    """data_revision lives at the top level; one under environment (an early placement) is read there."""
    from fxbench.record_schema import Environment

    record = json.loads(A_RECORD.read_text())
    record["blind"] = True
    {"top": record, "environment": record["environment"]}[where]["data_revision"] = "abc123"
    got = validate_record(record, "x")
    assert got["blind"] is True and got["data_revision"] == "abc123"
    assert "data_revision" not in got["environment"] and "data_revision" not in Environment.model_fields


def test_a_record_that_would_be_rejected_is_never_written(tmp_path):
    record = validate_record(json.loads(A_RECORD.read_text()), "x")
    bad = copy.deepcopy(record)
    bad["metrics"]["mse"] = float("nan")
    with pytest.raises(FxbenchError, match="metrics.mse"):
        write_record(bad, tmp_path / "r.json")
    (tmp_path / "taken.json").mkdir()  # the final rename fails: no temporary file is left behind
    with pytest.raises(OSError):
        write_record(record, tmp_path / "taken.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]
    write_record(record, tmp_path / "ok.json")
    assert read_record(tmp_path / "ok.json") == record


NAN_MODEL = '''
import numpy as np


class Diverged:
    """Predicts 0.5 and reports a NaN loss, as a diverged or validation-less training would."""

    def __init__(self, task, config):
        self.n = len(task.parameters)
        self.history = []

    def fit(self, train, validation):
        self.history = [{"epoch": 1, "train_loss": 0.3, "val_loss": float("nan")},
                        {"epoch": 2, "train_loss": float("inf"), "val_loss": 0.2}]
        self.score = float("nan")

    def predict(self, data):
        return np.full((len(data), self.n), 0.5, np.float32)

    def hyperparameters(self):
        return {"kind": "constant", "fitted_score": getattr(self, "score", None)}
'''


def test_a_run_record_is_strict_json_with_its_thread_count(tmp_path, task_dir, capsys):
    import torch

    (tmp_path / "diverged.py").write_text(NAN_MODEL)
    out = tmp_path / "r.json"
    assert main(["run", "--task", "small_bitcrush", "--model", f"{tmp_path / 'diverged.py'}:Diverged", "--quiet",
                 "--output", str(out)]) == 0, capsys.readouterr().err
    record = _strict_json(out.read_text())
    assert record["schema_version"] == SCHEMA_VERSION and record["blind"] is False
    assert record["environment"]["torch_threads"] == torch.get_num_threads() >= 1
    assert record["history"][0]["val_loss"] is None and record["history"][1]["train_loss"] is None
    assert record["config"]["fitted_score"] is None
    assert read_record(out)["model"] == "diverged:Diverged"
    assert (tmp_path / "r.loss.png").is_file()  # the figure copes with the missing values


def test_record_path_is_output_or_a_new_name_under_the_results_folder(tmp_path, monkeypatch):
    from fxbench.destination import record_path

    record = json.loads(A_RECORD.read_text())
    assert record_path(record, str(tmp_path / "x.json"), None) == tmp_path / "x.json"
    under = record_path(record, None, str(tmp_path / "res"))
    assert under.parent == tmp_path / "res" / record["task"] and under.suffix == ".json"
    assert record_path(record, None, str(tmp_path / "res")) != under  # a new name each run
    monkeypatch.chdir(tmp_path)
    assert record_path(record, None, None).parent == Path("results") / record["task"]
