"""A blind test split on the real small_bitcrush build: targets withheld, an answer key that scores, and
forged keys refused."""
from __future__ import annotations

import json
import shutil
import stat

import numpy as np
import pytest

from fxbench.cli import main
from fxbench.dataset.blind import publish_blind, target_columns

TASK = "small_bitcrush"


@pytest.fixture(scope="module")
def blind(small_dataset, small_task, tmp_path_factory):
    """(blind folder, answer key) made from the session's labelled build."""
    root = tmp_path_factory.mktemp("blind")
    out, key = root / "blind", root / "blind.answers.json"
    publish_blind(small_dataset, out, key, small_task)
    return out, key


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _test_table(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.concat_tables([pq.read_table(f) for f in sorted(folder.glob(f"{TASK}/test-*.parquet"))])


def test_test_split_has_no_targets_and_new_ids_and_order(blind, small_dataset, small_task, small_splits):
    out, key_path = blind
    table = _test_table(out)
    assert not set(target_columns(small_task)) & set(table.column_names)
    ids = table.column("id").to_pylist()
    labelled = small_splits["test"]
    assert len(ids) == len(labelled) and not set(ids) & set(labelled.ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids) and ids == sorted(ids)
    assert table.column("clip_id").to_pylist() == ids == table.column("recording_id").to_pylist()
    # the same rows, re-keyed: each blind row is the labelled row the key names
    key = json.loads(key_path.read_text())
    row_of = {i: k for k, i in enumerate(labelled.ids)}
    mels = table.column("mel").to_pylist()
    for k, i in enumerate(ids):
        original = row_of[key["rows"][i]["id"]]
        assert np.array_equal(np.asarray(mels[k], dtype=np.float32), labelled.x[original, 0])
        assert key["rows"][i]["scaled"]["bit_depth"] == float(labelled.y[original, 0])
    assert [row_of[key["rows"][i]["id"]] for i in ids] != list(range(len(ids)))  # not the built order


def test_folder_verifies_keeps_train_and_fingerprint_and_says_blind(blind, small_dataset):
    import datasets

    from fxbench.dataset.verify import verify_dataset

    out, key = blind
    built = json.loads((small_dataset / "fxbench.json").read_text())
    manifest = json.loads((out / "fxbench.json").read_text())
    assert manifest["blind"] is True and manifest["fingerprint"] == built["fingerprint"]
    assert verify_dataset(out) == []
    kept = {r: d for r, d in built["files"].items() if "/test-" not in r}
    assert {r: d for r, d in manifest["files"].items() if "/test-" not in r} == kept
    assert not list(out.glob("dry/test-*")) and not (out / key.name).exists() and key.parent != out
    assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0  # the key is its owner's only
    assert "targets are withheld" in (out / "README.md").read_text()
    ds = datasets.load_dataset(str(out), TASK)
    assert sorted(ds) == ["test", "train", "validation"]
    assert set(ds["test"]["bit_depth"]) == {None} and set(ds["test"]["grid_index"]) == {None}
    assert sorted(datasets.load_dataset(str(out), "dry")) == ["train", "validation"]


def test_load_splits_tolerates_the_missing_targets(blind, small_task, small_splits):
    from fxbench.dataset.load import load_splits

    splits = load_splits(blind[0], small_task)
    test = splits["test"]
    assert np.isnan(test.y).all() and (test.grid_index == -1).all() and len(test) == len(small_splits["test"])
    assert splits["train"].ids == small_splits["train"].ids
    assert np.array_equal(splits["train"].y, small_splits["train"].y)


def _key_predictions(key_path, path, tamper=lambda rows: rows):
    rows = tamper(json.loads(key_path.read_text())["rows"])
    path.write_text("id,bit_depth_scaled\n" + "".join(f"{i},{r['scaled']['bit_depth']!r}\n" for i, r in rows.items()))
    return path


def test_the_answer_key_scores_the_true_targets_zero(blind, task_dir, tmp_path, capsys):
    out, key = blind
    pred = _key_predictions(key, tmp_path / "truth.csv")
    record = tmp_path / "r.json"
    argv = ["score", "--task", TASK, "--data", str(out), "--predictions", str(pred), "--answers", str(key),
            "--output", str(record), "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    rec = json.loads(record.read_text())
    assert rec["blind"] is True and rec["metrics"]["mae"] == 0 and rec["metrics"]["grid_accuracy"] == 1
    assert rec["dataset_fingerprint"] == json.loads((out / "fxbench.json").read_text())["fingerprint"]


def _forge(key, tmp_path, change):
    data = json.loads(key.read_text())
    change(data)
    forged = tmp_path / "forged.answers.json"
    forged.write_text(json.dumps(data))
    return forged


def _drop_one(d):
    d["rows"].pop(sorted(d["rows"])[0])


def _add_one(d):
    d["rows"]["0123456789abcdef"] = next(iter(d["rows"].values()))


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.update(task_digest="0" * 64), "another definition"),
    (lambda d: d.update(dataset_fingerprint="f" * 64), "belongs to dataset ffffffffffff"),
    (_drop_one, "1 test id(s) missing"),
    (_add_one, "1 id(s) not in the test split"),
    (lambda d: d.update(task="bitcrush"), "for task 'bitcrush'"),
    (lambda d: d.update(format="fxbench-answers/0"), "not an fxbench answer key"),
    (lambda d: d.update(secret="x"), "not an fxbench answer key"),
])
def test_a_forged_key_is_refused_in_one_line(change, needle, blind, task_dir, tmp_path, capsys):
    out, key = blind
    pred = _key_predictions(key, tmp_path / "truth.csv")
    record = tmp_path / "r.json"
    argv = ["score", "--task", TASK, "--data", str(out), "--predictions", str(pred), "--answers",
            str(_forge(key, tmp_path, change)), "--output", str(record), "--quiet"]
    assert main(argv) == 2
    assert needle in _err_line(capsys) and not record.exists()


def test_blind_folder_without_key_and_key_without_blind_folder(blind, small_dataset, task_dir, tmp_path, capsys):
    out, key = blind
    pred = _key_predictions(key, tmp_path / "truth.csv")
    assert main(["score", "--task", TASK, "--data", str(out), "--predictions", str(pred), "--quiet"]) == 2
    assert "pass --answers KEY" in _err_line(capsys)
    assert main(["score", "--task", TASK, "--data", str(small_dataset), "--predictions", str(pred), "--answers",
                 str(key), "--quiet"]) == 2
    assert "drop --answers" in _err_line(capsys)


def test_run_on_blind_data_writes_predictions_that_score_like_the_open_run(blind, small_dataset, task_dir,
                                                                           tmp_path, capsys):
    out, key = blind
    results = tmp_path / "results"
    common = ["--task", TASK, "--model", "cnn", "--epochs", "1", "--seed", "3", "--quiet"]
    assert main(["run", *common, "--data", str(small_dataset), "--output", str(results / "open.json")]) == 0
    capsys.readouterr()
    assert main(["run", *common, "--data", str(out), "--output", str(results / "cnn.json")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "blind test split" in printed[0] and "fxbench score" in printed[0]
    pred = results / "cnn.predictions.csv"
    assert not (results / "cnn.json").exists()
    header, *rows = pred.read_text().splitlines()
    assert header == "id,bit_depth_scaled" and {r.split(",")[0] for r in rows} == set(_test_table(out)["id"].to_pylist())
    assert main(["score", "--task", TASK, "--data", str(out), "--predictions", str(pred), "--answers", str(key),
                 "--name", "cnn-blind", "--output", str(results / "blind.json"), "--quiet"]) == 0
    scored = json.loads((results / "blind.json").read_text())
    opened = json.loads((results / "open.json").read_text())
    assert scored["blind"] is True and scored["n_test"] == opened["n_test"]
    assert scored["metrics"]["mae"] == pytest.approx(opened["metrics"]["mae"], abs=1e-6)

    board = tmp_path / "LEADERBOARD.md"
    pred.rename(tmp_path / pred.name)  # the results folder holds records only
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    text = board.read_text()
    models = {line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| ")}
    assert {"cnn-blind (blind)", "cnn"} <= models and text.count("(blind): scored with") == 1
    hub = tmp_path / "hub"
    assert main(["export", "hub-results", "--results", str(results), "--out", str(hub)]) == 0
    notes = (hub / "models" / "cnn-blind" / ".eval_results" / f"{TASK}.yaml").read_text()
    assert "scored blind" in notes and "scored blind" not in (hub / "models" / "cnn" / ".eval_results" /
                                                              f"{TASK}.yaml").read_text()
    # a model with blind and open records says how many were blind
    assert main(["score", "--task", TASK, "--data", str(out), "--predictions", str(tmp_path / pred.name), "--answers",
                 str(key), "--name", "cnn", "--output", str(results / "cnn-too.json"), "--quiet"]) == 0
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    assert "cnn (blind: 1 of 2)" in board.read_text()


def test_cli_blind_build_keeps_the_key_beside_and_never_overwrites_it(small_task, tmp_path, capsys):
    from fxbench.dataset.build import fingerprint
    from fxbench.sources import open_source

    out = tmp_path / "pub" / "blind"
    argv = ["data", "build", "--task", TASK, "--out", str(out), "--blind", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    key = tmp_path / "pub" / "blind.answers.json"
    assert "answer key" in capsys.readouterr().out and key.is_file()
    # a secret seed, in the key only: with it (and only with it) the organiser rebuilds the same dataset
    seed = json.loads(key.read_text())["seed"]
    manifest = json.loads((out / "fxbench.json").read_text())
    assert manifest["seed"] is None and isinstance(seed, int) and seed != 0
    assert fingerprint(small_task, open_source("synth", small_task, seed), seed) == manifest["fingerprint"]
    assert main(["data", "verify", str(out)]) == 0
    capsys.readouterr()
    before = (key.read_bytes(), sorted(p.name for p in out.rglob("*")))
    assert main(argv) == 2
    assert "refusing to overwrite" in _err_line(capsys)
    assert (key.read_bytes(), sorted(p.name for p in out.rglob("*"))) == before
    assert sorted(p.name for p in (tmp_path / "pub").iterdir()) == ["blind", "blind.answers.json"]


@pytest.mark.parametrize("extra, needle", [
    (["--blind", "--answers", "{out}/key.json"], "inside the dataset folder"),
    (["--answers", "{tmp}/key.json"], "add --blind"),
    (["--blind", "--task", "small_bitcrush,bitcrush"], "one --task"),
])
def test_bad_blind_build_is_one_line_exit_2(extra, needle, task_dir, tmp_path, capsys):
    out = tmp_path / "blind"
    extra = [a.format(out=out, tmp=tmp_path) for a in extra]
    assert main(["data", "build", "--task", TASK, "--out", str(out), "--quiet", *extra]) == 2
    assert needle in _err_line(capsys) and list(tmp_path.iterdir()) == []


def test_publishing_twice_from_one_build_gives_new_secret_ids(blind, small_dataset, small_task, tmp_path):
    out, key = blind
    again, key2 = tmp_path / "again", tmp_path / "again.answers.json"
    publish_blind(small_dataset, again, key2, small_task)
    assert not set(_test_table(again)["id"].to_pylist()) & set(_test_table(out)["id"].to_pylist())
    shutil.rmtree(again)


# what blind protects: no public audio, no public seed, no labelled copy left, no key or predictions lost

def test_the_folder_and_card_withhold_the_seed_and_the_key_keeps_it(blind, small_dataset):
    import yaml

    from fxbench.dataset.build import fingerprint_ok

    out, key = blind
    manifest = json.loads((out / "fxbench.json").read_text())
    assert manifest["seed"] is None and json.loads(key.read_text())["seed"] == 0
    card = (out / "README.md").read_text()
    assert yaml.safe_load(card.split("---\n")[1])["fxbench"]["seed"] is None
    assert "with a withheld seed" in card and "seed 0" not in card
    assert fingerprint_ok(manifest)  # what can be checked without the seed still is
    assert not fingerprint_ok({**manifest, "task_definition": {**manifest["task_definition"], "version": 9}})
    assert not fingerprint_ok({**manifest, "fingerprint": "not a fingerprint"})


def test_a_blind_synth_build_draws_a_secret_seed_and_warns_about_a_given_one():
    from fxbench.dataset.blind import blind_seed

    drawn = {blind_seed("synth", None) for _ in range(3)}
    assert len(drawn) == 3 and all(w is None and 0 <= s < 2 ** 62 for s, w in drawn)
    seed, warning = blind_seed("synth", 5)
    assert seed == 5 and "anyone who guesses the seed can rebuild" in warning
    assert blind_seed("folder", None) == (0, None) and blind_seed("folder", 7) == (7, None)


@pytest.mark.parametrize("source", ["guitarset-excerpts", "guitarset:{tmp}/GuitarSet"])
def test_blind_refuses_a_source_whose_recordings_are_public(source, task_dir, tmp_path, capsys):
    argv = ["data", "build", "--task", TASK, "--source", source.format(tmp=tmp_path), "--out", str(tmp_path / "b"),
            "--blind", "--quiet"]
    assert main(argv) == 2
    line = _err_line(capsys)
    assert "recordings are public" in line and "folder:PATH" in line and list(tmp_path.iterdir()) == []


def test_publishing_a_build_of_public_recordings_is_refused(small_dataset, small_task, tmp_path):
    from fxbench.errors import FxbenchError

    built = tmp_path / "built"
    shutil.copytree(small_dataset, built)
    manifest = json.loads((built / "fxbench.json").read_text())
    manifest["source"]["name"] = "guitarset-excerpts"
    (built / "fxbench.json").write_text(json.dumps(manifest))
    with pytest.raises(FxbenchError, match="recordings are public"):
        publish_blind(built, tmp_path / "out", tmp_path / "k.json", small_task)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["built"]


def test_sigterm_while_publishing_leaves_no_labelled_copy_nor_key(small_task, tmp_path, monkeypatch):
    """SIGTERM after the labelled build is made, while the blind copy is written: the labelled copy (only its
    owner could read it) is removed with the rest, and the interrupt reaches the caller."""
    import os
    import signal

    import fxbench.dataset.blind as blind_mod
    from fxbench.dataset.terminate import Terminated
    from fxbench.sources import open_source

    parent = tmp_path / "pub"
    modes, real_write_new = [], blind_mod.write_new

    def terminated_while_writing_the_key(path, key):
        modes.extend(stat.S_IMODE(p.stat().st_mode) for p in parent.glob(".blind.labelled-*"))
        os.kill(os.getpid(), signal.SIGTERM)
        real_write_new(path, key)

    monkeypatch.setattr(blind_mod, "write_new", terminated_while_writing_the_key)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # without the fix, SIGTERM would go unnoticed
    try:
        with pytest.raises(Terminated):
            blind_mod.build_blind(small_task, open_source("synth", small_task, 0), 0, parent / "blind",
                                  parent / "blind.answers.json", progress=False, workers=1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert modes == [0o700]
    assert list(parent.iterdir()) == []


def test_a_killed_blind_build_s_labelled_copy_is_cleaned_up(tmp_path):
    import os
    import subprocess
    import sys

    from fxbench.dataset.swap import clean_leftovers

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead, live = proc.pid, os.getppid()
    stale, kept = tmp_path / f".ds.labelled-{dead}-0123abcd", tmp_path / f".ds.labelled-{live}-fedcba98"
    for d in (stale, kept):
        (d / "ds").mkdir(parents=True)
    assert clean_leftovers(tmp_path) == [stale] and [p.name for p in tmp_path.iterdir()] == [kept.name]


def test_a_key_path_into_the_folder_through_dots_or_a_link_is_refused(task_dir, tmp_path, capsys):
    pub = tmp_path / "pub"
    pub.mkdir()
    (tmp_path / "link").symlink_to(pub / "blind", target_is_directory=True)
    for answers in (pub / "y" / ".." / "blind" / "k.json", tmp_path / "link" / "k.json"):
        argv = ["data", "build", "--task", TASK, "--out", str(pub / "blind"), "--blind", "--answers", str(answers),
                "--quiet"]
        assert main(argv) == 2
        assert "inside the dataset folder" in _err_line(capsys) and list(pub.iterdir()) == []


def test_blind_predictions_are_not_overwritten_without_overwrite(blind, task_dir, tmp_path, capsys):
    out, _ = blind
    earlier = tmp_path / "cnn.predictions.csv"
    earlier.write_text("id,bit_depth_scaled\nearlier,0.5\n")
    argv = ["run", "--task", TASK, "--model", "cnn", "--epochs", "1", "--data", str(out), "--output",
            str(tmp_path / "cnn.json"), "--quiet"]
    assert main(argv) == 2
    line = _err_line(capsys)
    assert f"{earlier} already exists" in line and "--overwrite" in line
    assert earlier.read_text() == "id,bit_depth_scaled\nearlier,0.5\n" and not (tmp_path / "cnn.json").exists()
