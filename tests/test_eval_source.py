"""Train on one source, score on another: --eval-source and --eval-split on real DI recordings, the record
naming both datasets, and the refusal to score audio the model trained on."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from fxbench.cli import main

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-guitar"
DI = REAL / "di"
pytestmark = pytest.mark.skipif(not DI.is_dir(), reason=f"real recordings not found at {DI} (../shared absent)")

# the shortest DI takes keep every build a few seconds
TRAIN_FILES = ("misc_dafx15_chord.flac", "misc_dafx15_riff.flac", "t3k_jazz_hop_guitar.flac")
EVAL_FILES = ("t3k_raid_guitar.flac", "t3k_fear_guitar.flac", "t3k_hammer_lead_guitar.flac")


def _folder(root: Path, names: tuple[str, ...]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(DI / name, root / name)
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("di")
    return {"train": _folder(base / "train", TRAIN_FILES), "eval": _folder(base / "eval", EVAL_FILES),
            "overlap": _folder(base / "overlap", (TRAIN_FILES[0], *EVAL_FILES[:2]))}


def _run(task_dir, tmp_path, *args) -> tuple[int, dict | None]:
    out = tmp_path / "r.json"
    model = [] if "--model" in args else ["--model", "mean"]
    code = main(["run", "--task", "small_bitcrush", *model, "--quiet", "--output", str(out), "--overwrite",
                 "--clips-per-recording", "2", *args])
    return code, json.loads(out.read_text()) if code == 0 else None


def _rows(manifest_dir: Path) -> dict[str, int]:
    m = json.loads((manifest_dir / "fxbench.json").read_text())
    return {s: v["rows"] for s, v in m["splits"].items()}


def test_synth_to_real_record_names_both_datasets(task_dir, tmp_path, folders):
    code, rec = _run(task_dir, tmp_path, "--eval-source", f"folder:{folders['eval']}")
    assert code == 0
    assert rec["source"] == "synth" and rec["eval_source"] == f"folder:{folders['eval']}"
    assert rec["condition"] == "synth_to_real" and rec["eval_split"] == "test"
    assert rec["eval_dataset_fingerprint"] and rec["eval_dataset_fingerprint"] != rec["dataset_fingerprint"]
    assert rec["n_test"] == rec["metrics"]["n"] == len(rec["row_abs_errors"]) > 0


def test_eval_split_all_scores_every_row_of_the_unseen_source(task_dir, tmp_path, folders):
    code, test_only = _run(task_dir, tmp_path, "--eval-source", f"folder:{folders['eval']}")
    code_all, every = _run(task_dir, tmp_path, "--eval-source", f"folder:{folders['eval']}", "--eval-split", "all")
    assert code == code_all == 0
    assert every["eval_split"] == "all" and every["n_test"] > test_only["n_test"]
    assert every["eval_dataset_fingerprint"] == test_only["eval_dataset_fingerprint"]


def test_real_to_real_on_the_training_folder_itself_is_refused(task_dir, tmp_path, folders, capsys):
    code, _ = _run(task_dir, tmp_path, "--source", f"folder:{folders['train']}",
                   "--eval-source", f"folder:{folders['train']}")
    assert code == 2
    assert "is the training dataset itself" in capsys.readouterr().err


def test_no_recording_of_the_evaluation_set_was_trained_on(task_dir, tmp_path, folders, capsys):
    """A folder sharing one recording (same bytes, other folder) with the training folder is refused for
    --eval-split all, whatever its name or path."""
    code, _ = _run(task_dir, tmp_path, "--source", f"folder:{folders['train']}",
                   "--eval-source", f"folder:{folders['overlap']}", "--eval-split", "all")
    err = capsys.readouterr().err
    assert code == 2 and "1 recording(s)" in err and "never saw" in err
    code, rec = _run(task_dir, tmp_path, "--source", f"folder:{folders['train']}",
                     "--eval-source", f"folder:{folders['eval']}", "--eval-split", "all")
    assert code == 0 and rec["condition"] == "real_to_real"


def test_eval_split_all_without_an_eval_source_is_refused(task_dir, tmp_path, capsys):
    code, _ = _run(task_dir, tmp_path, "--eval-split", "all")
    assert code == 2 and "needs --eval-source" in capsys.readouterr().err


def test_unreadable_eval_source_is_one_clear_line(task_dir, tmp_path, capsys):
    code, _ = _run(task_dir, tmp_path, "--eval-source", f"folder:{tmp_path / 'nowhere'}")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--eval-source" in err[0] and "does not exist" in err[0]


def test_score_accepts_eval_source(task_dir, tmp_path, folders):
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task("small_bitcrush")
    spec = f"folder:{folders['eval']}"
    path, _, _ = resolve_dataset(task, spec, 0, progress=False, clips_per_recording=2)
    test = load_splits(path, task)["test"]
    preds = tmp_path / "preds.csv"
    with preds.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "bit_depth"])
        w.writerows([i, 8] for i in test.ids)
    out = tmp_path / "scored.json"
    assert main(["score", "--task", "small_bitcrush", "--predictions", str(preds), "--quiet", "--output", str(out),
                 "--eval-source", spec, "--clips-per-recording", "2"]) == 0
    rec = json.loads(out.read_text())
    assert rec["condition"] == "synth_to_real" and rec["n_test"] == len(test)
    assert rec["eval_dataset_fingerprint"] == json.loads((path / "fxbench.json").read_text())["fingerprint"]
    assert open_source(spec, task, 0).name == "folder"


def test_also_eval_scores_one_trained_model_on_several_sources(task_dir, tmp_path, folders, monkeypatch):
    """One training, one record per evaluation: the synth -> synth and synth -> real scores of the same
    model (same predictions on the shared test split as a plain run's)."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--task", "small_bitcrush", "--model", "random", "--quiet", "--clips-per-recording", "2",
                 "--eval-source", f"folder:{folders['eval']}", "--also-eval", "own"]) == 0
    recs = [json.loads(p.read_text()) for p in sorted((tmp_path / "results").rglob("*.json"))]
    assert sorted(r["condition"] for r in recs) == ["synth_to_real", "synth_to_synth"]
    assert len({r["dataset_fingerprint"] for r in recs}) == 1
    _, plain = _run(task_dir, tmp_path, "--model", "random")  # a plain run: the same own-test predictions
    own = next(r for r in recs if r["condition"] == "synth_to_synth")
    assert own["predictions_sha256"] == plain["predictions_sha256"]


def test_also_eval_with_one_output_file_is_refused(task_dir, tmp_path, capsys):
    code = main(["run", "--task", "small_bitcrush", "--model", "mean", "--quiet", "--output", str(tmp_path / "r.json"),
                 "--also-eval", "own"])
    assert code == 2 and "--also-eval makes several records" in capsys.readouterr().err
