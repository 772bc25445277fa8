"""The `fxbench` command as a user meets it: listing, running, building, the leaderboard, and bad input."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fxbench.cli import main

HERE = str(Path(__file__).parent)


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_help_works_without_heavy_imports():
    out = subprocess.run([sys.executable, "-c", "import sys; from fxbench.cli import main\n"
                          "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                          "print(sorted(m for m in ('torch', 'datasets', 'pedalboard') if m in sys.modules))"],
                         capture_output=True, text=True, check=True)
    assert "fxbench" in out.stdout and out.stdout.strip().endswith("[]")


def test_tasks_and_models_list_one_line_each(capsys, task_dir):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("bitcrush ") for line in out.splitlines())
    assert main(["models"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"cnn", "mean", "random"} <= set(names)


@pytest.mark.parametrize("argv, needle", [
    (["run", "--task", "bitcrsh", "--model", "cnn"], "unknown task or group 'bitcrsh'. Did you mean 'bitcrush'?"),
    (["run", "--task", "bitcrush", "--model", "cnnn"], "unknown model 'cnnn'. Did you mean 'cnn'?"),
    (["run", "--task", "bitcrush", "--model", "cnn", "--source", "folder:/no/such/dir"], "does not exist"),
    (["run", "--task", "bitcrush", "--model", "cnn", "--source", "youtube"], "unknown source 'youtube'"),
    (["run", "--task", "bitcrush", "--model", "cnn", "--epochs", "0"], "--epochs must be at least 1"),
    (["data", "build", "--task", "nope", "--out", "x"], "unknown task or group 'nope'"),
    (["data", "build", "--task", "bitcrush", "--out", "x", "--workers", "0"], "--workers must be at least 1"),
    (["data", "build", "--task", "bitcrush,nope", "--out", "x"], "unknown task or group 'nope'"),
    (["run", "--task", "bitcrush", "--model", "timm:resnet81"], "timm has no model 'resnet81'"),
    (["run", "--task", "bitcrush", "--model", "smp:unet"], "smp model 'unet' is incomplete"),
    (["run", "--task", "bitcrush", "--model", "cnn", "--output", HERE], f"--output {HERE} is a folder"),
    (["leaderboard", "--output", HERE], f"--output {HERE} is a folder"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in _err_line(capsys)


def test_folder_source_without_audio(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no audio here")
    assert main(["run", "--task", "bitcrush", "--model", "cnn", "--source", f"folder:{tmp_path}"]) == 2
    assert "no audio files" in _err_line(capsys)


def test_malformed_task_file_names_file_and_field(tmp_path, capsys):
    bad = tmp_path / "broken.yaml"
    bad.write_text("task: broken\nversion: 1\ndescription: x\neffect: {plugin: Bitcrush}\n"
                   "parameters: [{name: b, unit: bits, grid: [0, 1], range: [0, 1], colour: red}]\n"
                   "dataset: {clips: 9}\n")
    assert main(["run", "--task", str(bad), "--model", "mean"]) == 2  # a usage error, before any build
    line = _err_line(capsys)
    assert str(bad) in line and "parameters[0]: unknown key 'colour'" in line


def test_exit_code_from_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "fxbench", "run", "--task", "nope", "--model", "cnn"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown task" in proc.stderr


def test_run_records_and_leaderboard(tmp_path, task_dir, capsys):
    data = str(tmp_path / "cache")
    rec_dir = tmp_path / "results"
    for model in ("mean", "random", "cnn"):
        out = rec_dir / f"{model}.json"
        argv = ["run", "--task", "small_bitcrush", "--model", model, "--epochs", "1", "--data-dir", data,
                "--output", str(out), "--quiet"]
        assert main(argv) == 0, capsys.readouterr().err
        printed = capsys.readouterr().out
        assert "MAE" in printed and "uniform random" in printed and str(out) in printed
    rec = json.loads((rec_dir / "cnn.json").read_text())
    for key in ("task", "task_version", "model", "seed", "source", "dataset_fingerprint", "n_train",
                "n_validation", "n_test", "metrics", "config", "timing", "fxbench_version", "git_commit",
                "created_at"):
        assert key in rec
    for key in ("mae", "mse", "per_param_mae", "per_param_mae_units", "grid_accuracy", "random_mae",
                "chance_mae"):
        assert key in rec["metrics"]
    assert rec["config"]["epochs"] == 1 and rec["config"]["lr"] == 1e-4 and rec["config"]["batch_size"] == 16
    assert rec["n_train"] + rec["n_validation"] + rec["n_test"] == 12 * 17
    assert rec["timing"]["dataset_cached"] is True  # built by the first (mean) run, reused after
    mean = json.loads((rec_dir / "mean.json").read_text())
    assert mean["dataset_fingerprint"] == rec["dataset_fingerprint"]

    board = tmp_path / "LEADERBOARD.md"
    assert main(["leaderboard", "--results", str(rec_dir), "--output", str(board)]) == 0
    text = board.read_text()
    assert "## small_bitcrush" in text and "| 1 " in text and "0.3333" in text
    ranked = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| ") and
              line.split("|")[1].strip().isdigit()]
    maes = {m: json.loads((rec_dir / f"{m}.json").read_text())["metrics"]["mae"] for m in ranked}
    assert ranked == sorted(ranked, key=maes.get) and set(ranked) == {"mean", "random", "cnn"}
    # the same records render the same bytes
    before = board.read_bytes()
    assert main(["leaderboard", "--results", str(rec_dir), "--output", str(board)]) == 0
    assert board.read_bytes() == before

    # a broken record is named, listed apart and never ranked; the rest of the page is as it was
    (rec_dir / "broken.json").write_text("{not json")
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(rec_dir), "--output", str(board)]) == 0
    assert "broken.json" in _err_line(capsys)
    text = board.read_text()
    assert text.startswith(before.decode().rstrip("\n")) and "- broken.json: not valid JSON" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_leaderboard_without_results_folder(tmp_path, capsys):
    assert main(["leaderboard", "--results", str(tmp_path / "none"), "--output", str(tmp_path / "L.md")]) == 2
    assert "does not exist" in _err_line(capsys) and not (tmp_path / "L.md").exists()


def test_data_build_writes_a_loadable_folder(tmp_path, task_dir, capsys):
    import datasets

    out = tmp_path / "hf"
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(out), "--quiet"]) == 0
    assert "load_dataset" in capsys.readouterr().out
    ds = datasets.load_dataset(str(out), "small_bitcrush")
    assert sorted(ds) == ["test", "train", "validation"]
    assert (out / "README.md").read_text().startswith("---\nconfigs:")


def test_written_files_are_readable_by_everyone(tmp_path):
    import stat

    from fxbench.results import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "x.md", "hi\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.md").stat().st_mode) == 0o644


# ---------------------------------------------------------------- where records go

def _records(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.json"))


def test_default_run_writes_a_new_record_each_time_under_results(tmp_path, task_dir, capsys, monkeypatch):
    """Not the committed leaderboard: ./results/<task>/, a new name per run, figures sharing its stem."""
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--task", "small_bitcrush", "--model", "mean", "--quiet"]
    assert main(argv) == 0 and main(argv) == 0, capsys.readouterr().err
    made = _records(tmp_path / "results")
    assert len(made) == 2 and {p.parent.name for p in made} == {"small_bitcrush"}
    for path in made:
        stem = path.name[:-len(".json")]
        assert re.fullmatch(r"mean__seed0__[0-9a-f]{12}__\d{8}T\d{6}Z-[0-9a-f]{6}", stem), stem
        assert (path.parent / f"{stem}.confusion.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no leaderboard/ made here


def test_also_eval_records_that_would_collide_are_all_kept(tmp_path, task_dir, capsys):
    results = tmp_path / "r"
    argv = ["run", "--task", "small_bitcrush", "--model", "mean", "--quiet", "--results-dir", str(results),
            "--also-eval", "own", "--also-eval", "own"]  # three scores on one and the same split
    assert main(argv) == 0, capsys.readouterr().err
    made = _records(results)
    assert len(made) == 3 and len({json.loads(p.read_text())["created_at"][:4] for p in made}) == 1


def test_output_onto_an_existing_file_needs_overwrite(tmp_path, task_dir, capsys):
    out = tmp_path / "mine.json"
    out.write_text("{}\n")
    data = tmp_path / "cache"
    argv = ["run", "--task", "small_bitcrush", "--model", "mean", "--quiet", "--output", str(out),
            "--data-dir", str(data)]
    assert main(argv) == 2
    line = _err_line(capsys)
    assert f"{out} already exists" in line and "--overwrite" in line
    assert out.read_text() == "{}\n" and not data.exists()  # refused before anything was built
    (tmp_path / "fig.confusion.png").write_bytes(b"keep")
    assert main([*argv[:-4], "--output", str(tmp_path / "fig.json"), "--data-dir", str(data)]) == 2
    assert "fig.confusion.png already exists" in _err_line(capsys)
    assert main([*argv, "--overwrite"]) == 0
    assert json.loads(out.read_text())["model"] == "mean"


def _model_file(tmp_path: Path, hyper: str, name: str = "odd_model") -> str:
    path = tmp_path / f"{name}.py"
    path.write_text("import numpy as np\n\n\nclass Odd:\n"
                    "    def __init__(self, task, config):\n        self.n = len(task.parameters)\n\n"
                    "    def fit(self, train, validation):\n        pass\n\n"
                    "    def predict(self, data):\n        return np.full((len(data), self.n), 0.5, np.float32)\n\n"
                    f"    def hyperparameters(self):\n        return {hyper}\n")
    return f"{path}:Odd"


@pytest.mark.parametrize("case", ["output under a file", "results-dir under a file", "hyperparameters object",
                                  "hyperparameters nan", "model name too long"])
def test_what_can_be_checked_fails_before_any_build(case, tmp_path, task_dir, capsys):
    (tmp_path / "afile").write_text("x")
    data = tmp_path / "cache"
    model, extra, needle = "mean", [], ""
    if case == "output under a file":
        extra, needle = ["--output", str(tmp_path / "afile" / "r.json")], "is a file"
    elif case == "results-dir under a file":
        extra, needle = ["--results-dir", str(tmp_path / "afile" / "deeper")], "is a file"
    elif case == "hyperparameters object":
        model, needle = _model_file(tmp_path, "{'when': object()}"), "not JSON-serialisable"
    elif case == "hyperparameters nan":
        model, needle = _model_file(tmp_path, "{'lr': float('nan')}"), "no NaN"
    else:
        model, needle = _model_file(tmp_path, "{}", name="m" * 70), "has 74 characters, at most 64"
    assert main(["run", "--task", "small_bitcrush", "--model", model, "--quiet", "--data-dir", str(data),
                 *extra]) == 2
    assert needle in _err_line(capsys)
    assert not data.exists()  # nothing was built or trained


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_results_dir_fails_before_any_build(tmp_path, task_dir, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--quiet", "--data-dir",
                     str(tmp_path / "cache"), "--results-dir", str(locked / "results")]) == 2
    finally:
        locked.chmod(0o700)
    assert "cannot write in" in _err_line(capsys) and not (tmp_path / "cache").exists()


def test_the_readme_command_in_a_clone_leaves_git_status_clean(tmp_path):
    """`fxbench run --task bitcrush --model mean` twice, in a fresh clone: nothing tracked changes and
    nothing untracked appears (the records go to ./results/, which git ignores)."""
    import shutil

    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (root / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, clone / name)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *cmd], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(clone), "FXBENCH_WORKERS": "1"}
    env.pop("FXBENCH_TASK_PATH", None)
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "fxbench", "run", "--task", "bitcrush", "--model", "mean",
                               "--quiet"], cwd=clone, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all"], capture_output=True,
                            text=True, check=True)
    assert status.stdout == ""
    assert len(_records(clone / "results" / "bitcrush")) == 2


@pytest.mark.parametrize("command", [["run"], ["data", "build"], ["score"], ["validate-model"]])
def test_source_help_names_every_source_kind(command, capsys):
    """--source help must not hide sources `fxbench sources` offers."""
    from fxbench.sources.registry import available_sources

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    help_text = text[text.index("--source SOURCE ", text.index("options:")):]
    for entry in available_sources().values():
        assert entry.usage.split(":")[0] in help_text[:300], entry.usage
    assert "fxbench sources" in help_text[:300]
