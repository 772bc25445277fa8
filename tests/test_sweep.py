"""fxbench sweep: every task x model x seed as its own job, on a process pool and on a real local Ray
cluster; resumable, failures reported, checked before anything starts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.sweep import parse_seeds

TINY = ["--task", "small_bitcrush", "--epochs", "1", "--quiet"]


def _records(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))}


def _rows(records: dict[str, dict]) -> dict[tuple, float]:
    return {(r["model"], r["seed"]): r["metrics"]["mae"] for r in records.values()}


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    import os

    from fxbench.executors.ray_cluster import PASSED_ON

    env = {k: os.environ[k] for k in PASSED_ON if k in os.environ}  # the tests' private cache and task folder
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": env})
    yield ray
    ray.shutdown()


def test_seeds():
    assert parse_seeds("0-2") == [0, 1, 2] and parse_seeds("3,0-1,1") == [0, 1, 3]
    for bad in ("", "2-0", "a", "-1"):
        with pytest.raises(FxbenchError, match="--seeds"):
            parse_seeds(bad)


def test_local_sweep_writes_every_record_then_resumes(small_task, tmp_path: Path, capsys):
    results = tmp_path / "results"
    spec = ["sweep", *TINY, "--model", "mean,cnn", "--seeds", "0-1", "--executor", "local:2",
            "--results-dir", str(results)]
    assert main(spec) == 0
    first = _records(results)
    assert set(_rows(first)) == {("mean", 0), ("mean", 1), ("cnn", 0), ("cnn", 1)}
    assert all(r["metrics"]["rerender"]["skill"] is not None for r in first.values())
    board = (results / "LEADERBOARD.md").read_text()
    assert "small_bitcrush" in board and "cnn" in board
    capsys.readouterr()

    (results / "small_bitcrush" / next(n for n in first if n.startswith("cnn__seed1"))).unlink()  # one run lost
    assert main(spec) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("skipped") for line in out.splitlines()) == 3 and "1 run(s) done" in out
    assert _rows(_records(results)) == _rows(first)  # same machine and threads: the rerun gives the same MAE


def test_an_unreachable_ray_address(small_task, tmp_path: Path, capsys, monkeypatch):
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():
        pytest.skip("a cluster is already up in this process")
    rc = main(["sweep", *TINY, "--model", "mean", "--executor", "ray://127.0.0.1:1",
               "--results-dir", str(tmp_path / "r")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "could not reach a Ray cluster" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_ray_gives_the_records_of_a_local_pool(small_task, tmp_path: Path, ray_cluster):
    spec = [*TINY, "--model", "cnn", "--seeds", "0", "--cpus-per-run", "1"]
    assert main(["sweep", *spec, "--results-dir", str(tmp_path / "local")]) == 0
    assert main(["sweep", *spec, "--executor", "ray", "--results-dir", str(tmp_path / "ray")]) == 0
    local, on_ray = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert set(local) == set(on_ray) and len(local) == 1  # the same name: fixed by what ran
    # one torch thread per run on both executors: the same predictions, bit for bit
    for name in local:
        assert local[name]["predictions_sha256"] == on_ray[name]["predictions_sha256"]
        assert local[name]["environment"]["torch_threads"] == on_ray[name]["environment"]["torch_threads"] == 1


def test_a_failing_run_is_reported_and_the_others_go_on(small_task, tmp_path: Path, capsys):
    bad = tmp_path / "bad_model.py"
    bad.write_text("from fxbench.baselines.chance import TrainingMean\n\n"
                   "class Broken(TrainingMean):\n"
                   "    def fit(self, train, validation):\n"
                   "        raise RuntimeError('this model always fails')\n")
    results = tmp_path / "results"
    rc = main(["sweep", *TINY, "--model", f"mean,{bad}:Broken", "--seeds", "0", "--results-dir", str(results)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "this model always fails" in captured.err and "1 failed" in captured.out
    assert [r["model"] for r in _records(results).values()] == ["mean"]


@pytest.mark.parametrize("argv, message", [
    (["--task", "no_such_task", "--model", "cnn"], "no_such_task"),
    (["--task", "small_bitcrush", "--model", "cnn,nosuchmodel"], "nosuchmodel"),
    (["--task", "small_bitcrush", "--model", "encdec", "--input", "paired"], "paired"),
    (["--task", "small_bitcrush", "--model", "cnn", "--executor", "slurm"], "unknown executor"),
    (["--task", "small_bitcrush", "--model", "cnn", "--executor", "local:0"], "local:2"),
])
def test_bad_input_is_refused_before_anything_starts(small_task, tmp_path: Path, capsys, argv, message):
    results = tmp_path / "results"
    assert main(["sweep", *argv, "--results-dir", str(results)]) == 2
    assert message in capsys.readouterr().err
    assert not results.exists()


def test_an_unwritable_results_folder(small_task, tmp_path: Path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["sweep", *TINY, "--model", "mean", "--results-dir", str(tmp_path / "file" / "r")]) == 2
    assert "--results-dir" in capsys.readouterr().err


def test_a_sweep_scores_each_run_on_every_evaluation_then_resumes(small_task, tmp_path: Path, capsys):
    results = tmp_path / "results"
    spec = ["sweep", *TINY, "--model", "mean", "--seeds", "0", "--executor", "local:1", "--results-dir",
            str(results), "--eval-source", "guitarset-excerpts", "--also-eval", "own"]
    assert main(spec) == 0
    records = _records(results)
    assert len(records) == 2
    real = next(r for r in records.values() if r["eval_source"] == "guitarset-excerpts")
    own = next(r for r in records.values() if r["eval_source"] is None)
    assert real["condition"] == "synth_to_real" and own["condition"] == "synth_to_synth"
    assert real["dataset_fingerprint"] == own["dataset_fingerprint"] != real["eval_dataset_fingerprint"]
    assert sum("__on-" in n for n in records) == 1  # the transfer record is named for what it was scored on
    assert real["eval_dataset_files_digest"] and own["eval_dataset_files_digest"] is None
    capsys.readouterr()
    assert main(spec) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("skipped") for line in out.splitlines()) == 1 and "0 run(s) done" in out
    base = ["sweep", *TINY, "--model", "mean", "--seeds", "0", "--results-dir", str(results)]
    assert main([*base, "--eval-source", "synth"]) == 2
    assert "is the training dataset of small_bitcrush itself; name `own`" in capsys.readouterr().err
    assert main([*base, "--eval-source", "guitarset-excerpts", "--also-eval", "guitarset-excerpts"]) == 2
    assert "name the same evaluation twice" in capsys.readouterr().err
