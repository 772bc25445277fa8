"""`fxbench score` as a submitter meets it: a row on the leaderboard, or one clear line and nothing changed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fxbench.cli import main


def _write_csv(path, ids, values, col="bit_depth_scaled"):
    path.write_text("id," + col + "\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, values)))
    return path


def test_scored_file_gets_a_leaderboard_row(small_splits, task_dir, tmp_path, capsys):
    test = small_splits["test"]
    rng = np.random.default_rng(0)
    preds = np.clip(test.y[:, 0] + rng.normal(0, 0.05, len(test)), 0, 1)
    f = _write_csv(tmp_path / "outside.csv", test.ids, preds)
    results = tmp_path / "results"
    out = results / "outside.json"
    argv = ["score", "--task", "small_bitcrush", "--predictions", str(f), "--name", "outside-model",
            "--output", str(out), "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    rec = json.loads(out.read_text())
    assert rec["model"] == "outside-model" and rec["submission"]["kind"] == "predictions"
    assert abs(rec["metrics"]["mae"] - float(np.abs(preds - test.y[:, 0]).mean())) < 1e-6
    board = tmp_path / "LEADERBOARD.md"
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    assert "outside-model" in board.read_text()


@pytest.mark.parametrize("make, needle", [
    (lambda ids, y: "id,bit_depth_scaled\n" + "".join(f"{i},0.5\n" for i in ids[1:]), "test ids"),
    (lambda ids, y: "id,bit_depth_scaled\n" + "".join(f"{i},0.5\n" for i in ids + ids[:1]), "duplicate"),
    (lambda ids, y: "id,bit_depth_scaled\n" + "".join(f"{i},0.5\n" for i in ids) + "nope-g001,0.5\n", "nope-g001"),
    (lambda ids, y: "id,bits\n" + "".join(f"{i},0.5\n" for i in ids), "bits"),
    (lambda ids, y: "id,bit_depth_scaled\n" + "".join(f"{i},nan\n" for i in ids), "NaN"),
    (lambda ids, y: "", "empty"),
])
def test_bad_predictions_are_one_line_exit_2_and_change_nothing(make, needle, small_splits, task_dir, tmp_path,
                                                                 capsys):
    f = tmp_path / "bad.csv"
    f.write_text(make(list(small_splits["test"].ids), small_splits["test"].y))
    results = tmp_path / "results"
    results.mkdir()
    board = tmp_path / "LEADERBOARD.md"
    board.write_text("# before\n")
    argv = ["score", "--task", "small_bitcrush", "--predictions", str(f), "--quiet"]
    monkey_cwd = tmp_path
    import os

    old = os.getcwd()
    os.chdir(monkey_cwd)
    try:
        assert main(argv) == 2
    finally:
        os.chdir(old)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert board.read_text() == "# before\n" and list(results.iterdir()) == []
    assert not (tmp_path / "leaderboard").exists()


def test_out_of_range_is_clipped_with_a_warning(small_splits, task_dir, tmp_path, capsys):
    test = small_splits["test"]
    f = _write_csv(tmp_path / "wide.csv", test.ids, test.y[:, 0] * 20 - 1, col="bit_depth")
    out = tmp_path / "r.json"
    assert main(["score", "--task", "small_bitcrush", "--predictions", str(f), "--output", str(out), "--quiet"]) == 0
    assert "warning" in capsys.readouterr().err and "clipped" in out.read_text() or out.exists()


def test_scored_records_get_new_names_and_never_replace_one(small_splits, task_dir, tmp_path, capsys):
    test = small_splits["test"]
    f = _write_csv(tmp_path / "preds.csv", test.ids, test.y[:, 0])
    results = tmp_path / "mine"
    argv = ["score", "--task", "small_bitcrush", "--predictions", str(f), "--results-dir", str(results), "--quiet"]
    assert main(argv) == 0 and main(argv) == 0, capsys.readouterr().err
    made = sorted((results / "small_bitcrush").glob("*.json"))
    assert len(made) == 2 and all(p.name.startswith("preds__predictions__") for p in made)
    out = tmp_path / "exact.json"
    out.write_text("mine\n")
    capsys.readouterr()
    assert main([*argv[:-3], "--output", str(out), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "mine\n"


@pytest.mark.parametrize("name, needle", [("two\nlines", "line break"), ("x" * 65, "has 65 characters"),
                                          (" padded", "starts or ends with a space")])
def test_a_bad_model_name_is_one_line_before_any_work(name, needle, small_splits, task_dir, tmp_path, capsys):
    f = _write_csv(tmp_path / "p.csv", small_splits["test"].ids, small_splits["test"].y[:, 0])
    data = tmp_path / "cache"
    assert main(["score", "--task", "small_bitcrush", "--predictions", str(f), "--name", name, "--quiet",
                 "--data-dir", str(data), "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "--name" in err[0]
    assert not data.exists() and not (tmp_path / "r").exists()
