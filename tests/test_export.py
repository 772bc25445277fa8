"""`fxbench export hub-results` on the committed leaderboard records, read back as the Hub would."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fxbench.cli import main

RESULTS = Path(__file__).resolve().parent.parent / "leaderboard" / "results"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hub") / "export"
    assert main(["export", "hub-results", "--results", str(RESULTS), "--out", str(out)]) == 0
    return out


def _ranked_records(task: str, condition: str, model: str) -> list[dict]:
    """The records the leaderboard ranks for one model on the wet-only track: the datasets this install builds
    by default."""
    from fxbench.leaderboard.standings import canonical

    train, evaluation = canonical(task)[condition]
    recs = [json.loads(p.read_text()) for p in sorted((RESULTS / task).glob("*.json"))]
    return [r for r in recs if r["model"] == model and r.get("input", "wet") == "wet"
            and r["dataset_fingerprint"] == train
            and (r.get("eval_dataset_fingerprint") or "") == evaluation and r.get("eval_split", "test") == "test"]


def test_eval_yaml_lists_the_tasks_as_the_hub_specifies(exported):
    spec = yaml.safe_load((exported / "eval.yaml").read_text())
    assert set(spec) == {"name", "description", "evaluation_framework", "tasks"}
    assert spec["name"] == "fxbench" and spec["evaluation_framework"] == "fxbench"
    ids = [t["id"] for t in spec["tasks"]]
    assert len(ids) == len(set(ids))
    assert {"bitcrush.synth_to_synth", "bitcrush.synth_to_synth.bit_depth", "delay.synth_to_real",
            "limiter.real_to_real.release_ms"} <= set(ids)
    assert all(set(t) == {"id", "config", "split"} and t["split"] == "test" and t["id"].startswith(t["config"] + ".")
               for t in spec["tasks"])


@pytest.mark.parametrize("task, condition", [("bitcrush", "synth_to_synth"), ("limiter", "synth_to_real")])
def test_eval_results_of_one_model_match_its_records(exported, task, condition):
    from huggingface_hub import parse_eval_result_entries

    recs = _ranked_records(task, condition, "cnn")
    assert len(recs) == 3
    data = yaml.safe_load((exported / "models" / "cnn" / ".eval_results" / f"{task}.yaml").read_text())
    entries = {e.task_id: e for e in parse_eval_result_entries(data)}
    main_entry = entries[f"{task}.{condition}"]
    assert main_entry.dataset_id == "fxbench/fxbench"
    assert main_entry.value == pytest.approx(sum(r["metrics"]["mae"] for r in recs) / 3, abs=1e-6)
    for param in recs[0]["param_units"]:
        mean = sum(r["metrics"]["per_param_mae_units"][param] for r in recs) / 3
        assert entries[f"{task}.{condition}.{param}"].value == pytest.approx(mean, abs=1e-6)
    notes = main_entry.notes
    assert "mean of 3 seeds" in notes and recs[0]["dataset_fingerprint"] in notes
    assert f"source {recs[0]['source']}" in notes and (recs[0]["eval_source"] or "") in notes
    assert main_entry.date == max(r["created_at"] for r in recs)


def test_only_ranked_records_are_exported(exported):
    models = sorted(p.name for p in (exported / "models").iterdir())
    assert models == ["cnn", "mean", "random"]  # cnn-meanmax, encdec, ... are on an older synth version


def test_model_index_round_trips_through_huggingface_hub(exported):
    from huggingface_hub import ModelCard, metadata_load
    from huggingface_hub.repocard_data import model_index_to_eval_results

    path = exported / "models" / "cnn" / "model-index.md"
    card = ModelCard.load(path)
    assert card.data.model_name == "cnn"
    name, results = model_index_to_eval_results(metadata_load(path)["model-index"])
    assert name == "cnn"
    recs = _ranked_records("bitcrush", "synth_to_synth", "cnn")
    mine = [r for r in results if r.dataset_config == "bitcrush.synth_to_synth"]
    assert {r.metric_name for r in mine} == {"test MAE (parameters scaled to [0, 1])", "test MAE bit_depth (bits)"}
    scaled = next(r for r in mine if "scaled" in r.metric_name)
    assert scaled.metric_value == pytest.approx(sum(r["metrics"]["mae"] for r in recs) / 3, abs=1e-6)
    assert scaled.dataset_args["fingerprint"] == recs[0]["dataset_fingerprint"] and scaled.metric_args == {"seeds": 3}
    assert scaled.dataset_split == "test" and scaled.task_type == "audio-classification"


def test_existing_files_are_kept_unless_overwrite(exported, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["export", "hub-results", "--results", str(RESULTS), "--out", str(out)]) == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert {p.relative_to(out) for p in first} == {p.relative_to(exported) for p in exported.rglob("*") if p.is_file()}
    assert all(first[p] == (exported / p.relative_to(out)).read_bytes() for p in first)  # same records, same bytes
    (out / "eval.yaml").write_text("mine\n")
    capsys.readouterr()
    assert main(["export", "hub-results", "--results", str(RESULTS), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0] and (out / "eval.yaml").read_text() == "mine\n"
    assert main(["export", "hub-results", "--results", str(RESULTS), "--out", str(out), "--overwrite",
                 "--benchmark-id", "me/fx"]) == 0
    assert yaml.safe_load((out / "models" / "mean" / ".eval_results" / "delay.yaml").read_text())[0]["dataset"]["id"] \
        == "me/fx"
    assert not [p for p in out.rglob(".*.tmp")]


def test_a_rejected_record_is_skipped_with_a_warning(exported, tmp_path, capsys):
    """As on the leaderboard: a broken file is named and left out, the ranked results still exported."""
    import shutil

    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    (results / "bitcrush" / "broken.json").write_text("{not json")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["export", "hub-results", "--results", str(results), "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and "bitcrush/broken.json" in err[0]
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == \
        sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())


def test_a_hub_dataset_keeps_its_revision_in_the_export():
    from huggingface_hub import metadata_load
    from huggingface_hub.repocard_data import model_index_to_eval_results

    from fxbench.export import Ranked, eval_results_entries, model_index_card

    row = Ranked(task="bitcrush", condition="synth_to_synth", model="cnn", seeds=1, mae=0.1, mae_std=float("nan"),
                 per_param={}, task_version=1, dataset_fingerprint="a" * 64, eval_dataset_fingerprint=None,
                 source="data:org/name@v1.0", eval_source=None, split="test", date="2024-01-01", blind=False,
                 epochs="30", short=False)
    assert (row.hub_dataset, row.hub_revision) == ("org/name", "v1.0")
    assert "Hub dataset org/name at v1.0" in eval_results_entries([row], "fxbench/fxbench")[0]["notes"]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        card = Path(d) / "README.md"
        card.write_text(model_index_card("cnn", [row], "fxbench/fxbench"))
        _, results = model_index_to_eval_results(metadata_load(card)["model-index"])
    assert results[0].dataset_type == "org/name" and results[0].dataset_revision == "v1.0"
