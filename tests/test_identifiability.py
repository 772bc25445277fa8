"""Identifiability: how much each parameter changes the sound, measured on real renders, shown by
`fxbench tasks --details` and on the leaderboard."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_leaderboard import _rec, _write

from fxbench.cli import main
from fxbench.identifiability import FLAG_SHARE, measure, read_measures


@pytest.fixture(scope="module")
def limiter_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audibility") / "identifiability.json"
    assert main(["tasks", "--details", "--task", "limiter", "--json", str(out)]) == 0
    return out


def test_limiter_release_is_flagged_and_threshold_is_not(limiter_json: Path):
    """The limiter's release barely changes the sound (its MAE sits at chance); the threshold does."""
    entry = json.loads(limiter_json.read_text())["tasks"]["limiter"]
    found = {a["parameter"]: a for a in entry["parameters"]}
    assert found["threshold_db"]["share"] > FLAG_SHARE and not found["threshold_db"]["flagged"]
    assert found["release_ms"]["flagged"]
    assert found["release_ms"]["share"] < found["threshold_db"]["share"] / 3
    assert found["threshold_db"]["pairs"] == "neighbours" and "->" in found["threshold_db"]["quietest"]


def test_measure_is_deterministic_and_cached(limiter_json: Path, capsys):
    from fxbench.task import load_task

    again = [a.to_dict() for a in measure(load_task("limiter"))]
    assert again == json.loads(limiter_json.read_text())["tasks"]["limiter"]["parameters"]
    assert main(["tasks", "--details", "--task", "limiter"]) == 0  # from the cache this time
    out = capsys.readouterr().out
    assert "release_ms" in out and "barely audible" in out


def test_continuous_and_detection_tasks(capsys):
    """A sampled knob is measured over random pairs; a pure detection task is skipped with its reason."""
    assert main(["tasks", "--details", "--task", "lowpass,detect"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("lowpass"))
    assert "random" in line and "barely audible" not in line
    assert "detect" in out and "skipped: a pure detection task" in out


def test_leaderboard_shows_the_line_and_rejects_a_bad_file(tmp_path: Path, limiter_json: Path):
    results = _write(tmp_path / "results", [_rec("cnn", 0, 0.2, task="limiter")])
    board = tmp_path / "LEADERBOARD.md"
    (tmp_path / "identifiability.json").write_text(limiter_json.read_text())
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    text = board.read_text()
    section = text[text.index("## limiter"):]
    assert "*Audibility*" in section and "release_ms" in section and "barely audible" in section

    (tmp_path / "identifiability.json").write_text('{"settings": {}, "tasks": {}}')
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    text = board.read_text()
    assert "*Audibility*" not in text and "not a measures file" in text


def test_a_changed_task_definition_drops_its_line(tmp_path: Path, limiter_json: Path):
    raw = json.loads(limiter_json.read_text())
    raw["tasks"]["limiter"]["digest"] = "0" * 64
    (tmp_path / "m.json").write_text(json.dumps(raw))
    lines, why = read_measures(tmp_path / "m.json")
    assert why is None and "limiter" not in lines
    lines, why = read_measures(limiter_json)
    assert why is None and "release_ms" in lines["limiter"]


def test_options_without_details_and_a_missing_folder(tmp_path: Path, capsys):
    assert main(["tasks", "--json", str(tmp_path / "x.json")]) == 2
    assert "--details" in capsys.readouterr().err
    assert main(["tasks", "--details", "--task", "limiter", "--json", str(tmp_path / "no" / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
