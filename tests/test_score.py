"""`score_file`: predictions made elsewhere, scored on the real small_bitcrush test split."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from fxbench.errors import FxbenchError
from fxbench.results import predictions_sha256, validate_record
from fxbench.scoring import read_predictions, score_file

TASK = "small_bitcrush"


def _physical(task, y: np.ndarray) -> np.ndarray:
    return np.stack([p.unscale(y[:, j].astype(np.float64)) for j, p in enumerate(task.parameters)], axis=1)


def _write(path: Path, ids: list[str], values: np.ndarray, col: str, fmt: str) -> Path:
    """A predictions file: CSV, a JSON list, or JSON {"predictions": [...]}."""
    rows = [{"id": i, col: float(v)} for i, v in zip(ids, values[:, 0])]
    if fmt == "csv":
        path.write_text(f"id,{col}\n" + "".join(f"{r['id']},{r[col]!r}\n" for r in rows))
    else:
        path.write_text(json.dumps(rows if fmt == "json" else {"predictions": rows}))
    return path


def _truth(small_task, small_splits) -> tuple[list[str], np.ndarray]:
    test = small_splits["test"]
    return list(test.ids), _physical(small_task, test.y)


def _score(path: Path, **kw) -> tuple[dict, list[str]]:
    return score_file(TASK, path, progress=False, **kw)


@pytest.mark.parametrize("fmt", ["csv", "json", "wrapped"])
@pytest.mark.parametrize("units", ["physical", "scaled"])
def test_perfect_predictions_score_zero(fmt, units, small_task, small_splits, tmp_path):
    test = small_splits["test"]
    values = _physical(small_task, test.y) if units == "physical" else test.y.astype(np.float64)
    col = "bit_depth" if units == "physical" else "bit_depth_scaled"
    path = _write(tmp_path / f"perfect.{'csv' if fmt == 'csv' else 'json'}", test.ids, values, col, fmt)
    record, warnings = _score(path)
    assert warnings == []
    assert record["metrics"]["mae"] == pytest.approx(0, abs=1e-7) and record["metrics"]["grid_accuracy"] == 1
    assert record["submission"] == {"kind": "predictions", "spec": path.name, "units": units}
    assert record["model"] == "perfect" and record["seed"] is None and record["n_test"] == len(test)
    assert record["predictions_sha256"] == predictions_sha256(test.ids, test.y)
    assert record["row_abs_errors"] == [0.0] * len(test)


def test_record_has_every_key_of_a_run(small_task, small_splits, tmp_path):
    from fxbench.models.base import TrainConfig
    from fxbench.runner import RunConfig, run

    ran = run(RunConfig(task=TASK, model="mean", train=TrainConfig(progress=False)))
    ids, phys = _truth(small_task, small_splits)
    record, _ = _score(_write(tmp_path / "p.csv", ids, phys, "bit_depth", "csv"), name="oracle")
    assert set(record) == set(ran)
    assert set(record["metrics"]) == set(ran["metrics"])
    assert record["dataset_fingerprint"] == ran["dataset_fingerprint"] and record["model"] == "oracle"
    assert record["timing"]["dataset_cached"] is True
    assert record["config"] == {"predictions_file": "p.csv", "units": "physical"}
    validate_record(json.loads(json.dumps(record)), "scored")  # JSON-clean and readable by the leaderboard


def test_hash_and_metrics_do_not_depend_on_row_order(small_task, small_splits, tmp_path):
    ids, phys = _truth(small_task, small_splits)
    guess = (phys * 7 + 3) % 17 * 16 / 17  # wrong, in range, not on the grid
    expected = guess / 16
    order = np.random.default_rng(0).permutation(len(ids))
    a, _ = _score(_write(tmp_path / "a.csv", [ids[i] for i in order], guess[order], "bit_depth", "csv"))
    b, _ = _score(_write(tmp_path / "b.json", ids[::-1], expected[::-1], "bit_depth_scaled", "json"))
    assert a["predictions_sha256"] == b["predictions_sha256"] == predictions_sha256(ids, expected)
    assert a["metrics"] == b["metrics"] and a["row_abs_errors"] == b["row_abs_errors"]
    assert a["metrics"]["mae"] == pytest.approx(np.abs(expected - small_splits["test"].y).mean(), abs=1e-6)


def _csv(lines: Callable[[list[str], np.ndarray], list[str]]) -> Callable:
    """A file body made from the true ids and physical values (the values only to build valid rows)."""
    return lambda ids, phys: "\n".join(lines(ids, phys)) + "\n"


def _rows(ids, phys, start=0, stop=None) -> list[str]:
    return [f"{i},{v:g}" for i, v in zip(ids[start:stop], phys[start:stop, 0])]


def _json(make: Callable[[list[str], np.ndarray], object]) -> Callable:
    return lambda ids, phys: json.dumps(make(ids, phys))


BAD = {
    "missing file": ("none.csv", None, ["not found", "check the path"]),
    "empty": ("p.csv", lambda ids, phys: "", ["the file is empty"]),
    "blank lines only": ("p.csv", lambda ids, phys: "\n \n", ["the file is empty"]),
    "header only": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth"]), ["no prediction rows"]),
    "ragged csv": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", *_rows(ids, phys, 0, 2),
                                                    f"{ids[2]},3,4", *_rows(ids, phys, 3)]),
                   ["malformed CSV", "line 4 has 3 fields", "one value per header column"]),
    "not utf-8": ("p.csv", b"id,bit_depth\n\xff\xfe,3\n", ["cannot read", "UTF-8"]),
    "bad json": ("p.json", lambda ids, phys: "[{\"id\": ", ["not valid JSON"]),
    "json not a list": ("p.json", _json(lambda ids, phys: {"rows": []}),
                        ["must be a list of objects", "'rows'"]),
    "json items not objects": ("p.json", _json(lambda ids, phys: [[1, 2]]), ["item 0 is list"]),
    "json item lacks key": ("p.json", _json(lambda ids, phys: [{"id": i, "bit_depth": 3} for i in ids[:3]]
                                            + [{"id": ids[3]}]), ["item 3 lacks 'bit_depth'"]),
    "no id column": ("p.csv", _csv(lambda ids, phys: ["name,bit_depth", *_rows(ids, phys)]),
                     ["no 'id' column", "expected id and bit_depth", "or bit_depth_scaled"]),
    "no parameter column": ("p.csv", _csv(lambda ids, phys: ["id", *ids]),
                            ["'bit_depth' missing", "expected id and bit_depth", "or bit_depth_scaled"]),
    "unknown column": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth,bitdepth",
                                                        *[r + ",1" for r in _rows(ids, phys)]]),
                       ["unknown column 'bitdepth'", "expected id and bit_depth", "or bit_depth_scaled"]),
    "mixed units": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth,bit_depth_scaled",
                                                     *[r + ",0.5" for r in _rows(ids, phys)]]),
                    ["mixed units", "keep one"]),
    "non-numeric": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", *_rows(ids, phys, 0, 4),
                                                     f"{ids[4]},abc", f"{ids[5]},", *_rows(ids, phys, 6)]),
                    ["non-numeric values", "line 6", "bit_depth='abc'", "line 7", "bit_depth=''",
                     "write plain numbers"]),
    "json number as text": ("p.json", _json(lambda ids, phys: [{"id": i, "bit_depth": "3"} for i in ids]),
                            ["non-numeric values", "item 0", "bit_depth='3'", "JSON numbers, not strings"]),
    "nan": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", f"{ids[0]},nan", f"{ids[1]},-inf",
                                             *_rows(ids, phys, 2)]),
            ["NaN or inf", "line 2", "bit_depth='nan'", "line 3", "bit_depth='-inf'", "finite number"]),
    "json nan": ("p.json", lambda ids, phys: "[" + ", ".join(f'{{"id": "{i}", "bit_depth": NaN}}' for i in ids)
                 + "]", ["NaN or inf", "item 0"]),
    "underscore in a number": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", *_rows(ids, phys, 0, 2),
                                                                f"{ids[2]},1_6", *_rows(ids, phys, 3)]),
                               ["non-numeric values", "line 4", "bit_depth='1_6'", "write plain numbers"]),
    "non-ascii digits": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", f"{ids[0]},\u0661\u0666",
                                                          *_rows(ids, phys, 1)]),
                         ["non-numeric values", "line 2", "write plain numbers"]),
    "csv overflow": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", f"{ids[0]},1e999", *_rows(ids, phys, 1)]),
                     ["NaN or inf", "line 2", "bit_depth='1e999'"]),
    "json overflow": ("p.json", lambda ids, phys: "[" + ", ".join(f'{{"id": "{i}", "bit_depth": 1e400}}' for i in ids)
                      + "]", ["NaN or inf", "item 0"]),
    "json key twice": ("p.json", lambda ids, phys: "[" + ", ".join(
        f'{{"id": "{i}", "bit_depth": 3{", " + chr(34) + "bit_depth" + chr(34) + ": 9" if k == 2 else ""}}}'
        for k, i in enumerate(ids)) + "]", ["duplicate keys", "item 2", "key 'bit_depth' twice",
                                            "JSON keeps only the last"]),
    "json id twice": ("p.json", lambda ids, phys: json.dumps([{"id": i, "bit_depth": 3} for i in ids]).replace(
        '{"id"', '{"id": "x", "id"', 1), ["item 0", "key 'id' twice"]),
    "json top-level key twice": ("p.json", lambda ids, phys: '{"predictions": [], "predictions": '
                                 + json.dumps([{"id": i, "bit_depth": 3} for i in ids]) + "}",
                                 ["key 'predictions' appears twice", "keep one"]),
    "empty id": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", ",3", *_rows(ids, phys)]),
                 ["ids must be non-empty", "line 2"]),
    "duplicate ids": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", *_rows(ids, phys), f"{ids[5]},9"]),
                      ["duplicate ids", "on line 7 ('5') and line 19 ('9')", "exactly one row"]),
    "unknown ids": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", *_rows(ids, phys), "synth-nope,3"]),
                    ["p.csv: 1 id not in the test split of small_bitcrush", "'synth-nope'",
                     "predict only the test split's ids"]),
    "all ids unknown": ("p.csv", _csv(lambda ids, phys: ["id,bit_depth", "a,1", "b,2"]),
                        ["2 ids not in the test split", "'a', 'b'", "another --source or --data-seed"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_exit_2_with_a_one_line_fix(case, small_task, small_splits, tmp_path):
    name, body, needles = BAD[case]
    ids, phys = _truth(small_task, small_splits)
    path = tmp_path / name
    if body is not None:
        text = body(ids, phys) if callable(body) else body
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(FxbenchError) as err:
        _score(path)
    msg = str(err.value)
    assert err.value.exit_code == 2 and "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_missing_ids_give_count_and_first_three(small_task, small_splits, tmp_path):
    ids, phys = _truth(small_task, small_splits)
    keep = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]  # drops rows 0, 1, 2 and 16
    path = _write(tmp_path / "p.csv", [ids[i] for i in keep], phys[keep], "bit_depth", "csv")
    with pytest.raises(FxbenchError) as err:
        _score(path)
    msg = str(err.value)
    assert err.value.exit_code == 2 and f"4 of {len(ids)} test ids without a prediction" in msg
    assert all(repr(ids[i]) in msg for i in (0, 1, 2)) and ids[16] not in msg
    assert "predict every row of the test split" in msg


def _numbers(msg: str, hide: list[str]) -> set[float]:
    """Numbers in a message once the path and ids (which carry digits of their own) are masked."""
    for text in sorted(hide, key=len, reverse=True):
        msg = msg.replace(text, "<>")
    return {float(t) for t in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", msg)}


def test_messages_never_show_true_values(small_task, small_splits, tmp_path):
    ids, phys = _truth(small_task, small_splits)
    truths = set(phys[:, 0].tolist())
    cases = {  # file body -> numbers the message may legitimately hold (line numbers, counts, range)
        "unknown": (["id,bit_depth", *_rows(ids, phys), "x-1,3.5"], {1, 3.5}),
        "missing": (["id,bit_depth", *[f"{i},8.5" for i in ids[:-1]]], {1, 17}),
        "non-numeric": (["id,bit_depth", f"{ids[0]},abc", *_rows(ids, phys, 1)], {2}),
        "duplicate": (["id,bit_depth", *[f"{i},8.5" for i in ids], f"{ids[3]},9.5"], {5, 19, 8.5, 9.5}),
    }
    for name, (lines, allowed) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(FxbenchError) as err:
            _score(path)
        found = _numbers(str(err.value), [str(path), *ids, "x-1"])
        assert not (found - allowed) & truths, (name, str(err.value))


def test_no_message_or_warning_carries_a_label(small_task, small_splits, tmp_path, monkeypatch):
    """Give the test rows labels that appear nowhere else, then look for them in every message."""
    from dataclasses import replace

    import fxbench.dataset.load as load

    real = load.load_splits
    marked = np.linspace(0.0123, 0.9876, len(small_splits["test"]))[:, None].astype(np.float32)

    def with_markers(path, task):
        splits = real(path, task)
        return {**splits, "test": replace(splits["test"], y=marked)}

    monkeypatch.setattr(load, "load_splits", with_markers)
    ids, phys = _truth(small_task, small_splits)
    bodies = {
        "unknown": ["id,bit_depth", *[f"{i},8.5" for i in ids], "x-1,3.5"],
        "missing": ["id,bit_depth", *[f"{i},8.5" for i in ids[:-4]]],
        "non-numeric": ["id,bit_depth", f"{ids[0]},abc", *[f"{i},8.5" for i in ids[1:]]],
        "duplicate": ["id,bit_depth", *[f"{i},8.5" for i in ids], f"{ids[3]},9.5"],
        "clipped": ["id,bit_depth", *[f"{i},{v}" for i, v in zip(ids, np.linspace(-40, 40, len(ids)))]],
    }
    texts = []
    for name, lines in bodies.items():
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n")
        try:
            record, warnings = _score(path)
        except FxbenchError as exc:
            texts.append(str(exc))
        else:
            assert record["metrics"]["n"] == len(ids) and warnings
            texts += warnings
    assert len(texts) == len(bodies)
    for s in marked[:, 0].astype(np.float64):
        for v in (s, float(small_task.parameters[0].unscale(s))):
            for shown in {f"{v:g}", f"{v:.2f}", f"{v:.3f}", repr(v), repr(float(np.float32(v)))}:
                assert not any(shown in t for t in texts), (shown, texts)


def test_out_of_range_values_are_clipped_with_a_warning(small_task, small_splits, tmp_path):
    ids, phys = _truth(small_task, small_splits)
    guess = phys.copy()
    guess[2, 0], guess[9, 0] = 20.5, -3.25
    record, warnings = _score(_write(tmp_path / "p.csv", ids, guess, "bit_depth", "csv"))
    assert len(warnings) == 1 and "\n" not in warnings[0]
    w = warnings[0]
    assert "clipped 2 values outside" in w and "[0, 16] bits" in w
    assert f"'{ids[2]}' bit_depth=20.5" in w and f"'{ids[9]}' bit_depth=-3.25" in w
    clipped = np.clip(guess / 16, 0, 1)
    assert record["predictions_sha256"] == predictions_sha256(ids, clipped)
    y = small_splits["test"].y
    assert record["metrics"]["mae"] == pytest.approx(np.abs(clipped - y).mean(), abs=1e-7)

    scaled = y.astype(np.float64).copy()
    scaled[0, 0] = 1.5
    record, warnings = _score(_write(tmp_path / "s.json", ids, scaled, "bit_depth_scaled", "json"))
    assert len(warnings) == 1 and "clipped 1 value outside" in warnings[0]
    assert "bit_depth_scaled=1.5" in warnings[0] and "s.json" in warnings[0]
    assert record["predictions_sha256"] == predictions_sha256(ids, np.clip(scaled, 0, 1))


def test_two_parameter_task_needs_one_convention(tmp_path):
    from fxbench.task import parse_task

    task = parse_task("task: two\nversion: 1\ndescription: x\neffect: {plugin: Limiter}\nparameters:\n"
                      "  - {name: threshold_db, unit: dB, grid: [0, 1], range: [0, 1]}\n"
                      "  - {name: release_ms, unit: s, grid: [0, 2], range: [0, 2]}\ndataset: {clips: 3}\n", "two.yaml")
    path = tmp_path / "p.csv"
    path.write_text("id,threshold_db,release_ms_scaled\nr1,0.5,0.5\n")
    with pytest.raises(FxbenchError, match=r"mixed units, threshold_db physical but release_ms_scaled scaled") as err:
        read_predictions(path, task)
    assert ("expected id and threshold_db, release_ms (physical units) or threshold_db_scaled, "
            "release_ms_scaled ([0, 1])") in str(err.value)
    path.write_text("id,release_ms,threshold_db\nr1,1.5,0.25\n")
    ids, values, units = read_predictions(path, task)
    assert ids == ["r1"] and units == "physical" and values.tolist() == [[0.25, 1.5]]  # task order
