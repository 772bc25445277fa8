"""Bring your own model: a file, a module, an installed entry point; validate-model; new-model."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from fxbench.cli import main

WRAPPER = '''
import numpy as np


class {cls}:
    """A submission that predicts from the mean level of the Mel spectrogram."""

    def __init__(self, task, config):
        self.n = len(task.parameters)

    def fit(self, train, validation):
        level = train.x.mean(axis=(1, 2, 3))
        self.slope, self.bias = np.polyfit(level, train.y[:, 0], 1)

    def predict(self, data):
        {predict}

    def hyperparameters(self):
        {hyper}
'''
GOOD_PREDICT = "return np.clip(self.slope * data.x.mean(axis=(1, 2, 3)) + self.bias, 0, 1)[:, None].astype(np.float32)"


def _wrapper(path: Path, cls: str = "Level", predict: str = GOOD_PREDICT, hyper: str = "return {'fit': 'polyfit'}",
             drop: str | None = None) -> str:
    text = textwrap.dedent(WRAPPER).format(cls=cls, predict=predict, hyper=hyper)
    if drop:
        text = text.replace(f"    def {drop}(", f"    def _{drop}(")
    path.write_text(text)
    return f"{path}:{cls}"


def _run(model: str, out: Path, data: Path) -> dict:
    argv = ["run", "--task", "small_bitcrush", "--model", model, "--epochs", "1", "--quiet",
            "--data-dir", str(data), "--output", str(out)]
    assert main(argv) == 0
    return json.loads(out.read_text())


@pytest.fixture()
def entry_point_package(tmp_path, monkeypatch):
    """A real installed distribution (dist-info with entry_points.txt) on sys.path."""
    site = tmp_path / "site"
    (site / "fxbench_ep_demo").mkdir(parents=True)
    _wrapper(site / "fxbench_ep_demo" / "__init__.py", cls="Demo")
    info = site / "fxbench_ep_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fxbench-ep-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fxbench.models]\nep-demo = fxbench_ep_demo:Demo\n")
    monkeypatch.syspath_prepend(str(site))
    yield "ep-demo"
    sys.modules.pop("fxbench_ep_demo", None)


def test_file_module_and_entry_point_models_get_leaderboard_rows(tmp_path, task_dir, entry_point_package,
                                                                 monkeypatch, capsys):
    data, results = tmp_path / "data", tmp_path / "results"
    spec = _wrapper(tmp_path / "level_model.py")
    rec = _run(spec, results / "file.json", data)
    assert rec["model"] == "level_model:Level" and rec["submission"]["source"] == "file"
    assert rec["submission"]["spec"] == spec and rec["config"]["fit"] == "polyfit"

    monkeypatch.syspath_prepend(str(tmp_path))
    rec = _run("level_model:Level", results / "module.json", data)
    assert rec["submission"]["source"] == "module"

    assert main(["models"]) == 0
    assert "ep-demo" in capsys.readouterr().out
    rec = _run(entry_point_package, results / "ep.json", data)
    assert rec["model"] == "ep-demo" and rec["submission"]["source"] == "registered"

    board = tmp_path / "LEADERBOARD.md"
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    text = board.read_text()
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| ")]
    assert {"level_model:Level", "ep-demo"} <= set(rows)


@pytest.mark.parametrize("kwargs, exit_code, needles", [
    (dict(predict="return np.zeros((len(data), 2), np.float32)"), 1, ["FAIL shape", "expected (", "bit_depth"]),
    (dict(predict="return np.full((len(data), 1), np.nan, np.float32)"), 1, ["FAIL finite", "NaN or inf"]),
    (dict(predict="return np.full((len(data), 1), 3.0)"), 1, ["FAIL range", "outside [0, 1]"]),
    (dict(predict="return np.ones((len(data), 1), dtype=np.int64)"), 1, ["FAIL dtype", "int64"]),
    (dict(predict="raise RuntimeError('boom')"), 1, ["FAIL predict", "RuntimeError: boom"]),
    (dict(drop="hyperparameters"), 1, ["FAIL interface", "hyperparameters"]),
    (dict(hyper="return {'f': object()}"), 1, ["FAIL hyperparameters", "JSON"]),
])
def test_validate_model_names_each_failure(tmp_path, task_dir, capsys, kwargs, exit_code, needles):
    board = tmp_path / "LEADERBOARD.md"
    board.write_text("# untouched\n")
    spec = _wrapper(tmp_path / "bad.py", **kwargs)
    assert main(["validate-model", spec, "--task", "small_bitcrush"]) == exit_code
    out = capsys.readouterr()
    text = out.out + out.err
    for needle in needles:
        assert needle in text, text
    assert "failed" in out.err and board.read_text() == "# untouched\n"


@pytest.mark.parametrize("spec, needle", [
    ("nowhere.py:Model", "model file nowhere.py not found"),
    ("no_such_module_xyz:Model", "cannot import module 'no_such_module_xyz'"),
])
def test_unresolvable_specs_are_usage_errors(spec, needle, task_dir, capsys):
    assert main(["validate-model", spec, "--task", "small_bitcrush"]) == 2
    assert needle in capsys.readouterr().err


def test_missing_class_suggests_the_closest(tmp_path, task_dir, capsys):
    spec = _wrapper(tmp_path / "m.py", cls="LevelModel").replace("LevelModel", "LevelModle")
    assert main(["validate-model", spec, "--task", "small_bitcrush"]) == 2
    assert "Did you mean 'LevelModel'" in capsys.readouterr().err


def test_a_good_wrapper_passes_every_check(tmp_path, task_dir, capsys):
    assert main(["validate-model", _wrapper(tmp_path / "ok.py"), "--task", "small_bitcrush"]) == 0
    assert "passed every check" in capsys.readouterr().out


def test_new_model_template_validates_and_never_overwrites(tmp_path, task_dir, capsys):
    out = tmp_path / "my_model.py"
    assert main(["new-model", "my-model", "--out", str(out)]) == 0
    assert f"{out}:MyModel" in capsys.readouterr().out
    assert main(["validate-model", f"{out}:MyModel", "--task", "small_bitcrush"]) == 0
    before = out.read_bytes()
    assert main(["new-model", "my-model", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["new-model", "9lives"]) == 2
