"""Several tasks in one dataset repository (`fxbench data build --task a,b`): one config each, dry once."""
from __future__ import annotations

import json

import datasets
import pytest

from fxbench.cli import main
from fxbench.dataset.build import build_dataset
from fxbench.dataset.load import load_splits
from fxbench.dataset.verify import verify_dataset
from fxbench.sources import open_source
from fxbench.task import load_task

SMALL_DELAY = """\
task: small_delay
version: 1
description: Delay on a few clips, for tests.
effect: {plugin: Delay, fixed: {feedback: 0.7, mix: 0.5}}
parameters:
  - {name: delay_seconds, unit: s, grid: [0.0, 0.125, 0.25], range: [0.0, 0.25]}
dataset: {clips: 20, clips_per_recording: 1}
"""


@pytest.fixture(scope="module")
def both(task_dir, small_task, tmp_path_factory):
    (task_dir / "small_delay.yaml").write_text(SMALL_DELAY)
    out = tmp_path_factory.mktemp("multi") / "repo"
    assert main(["data", "build", "--task", "small_bitcrush,small_delay", "--out", str(out), "--quiet"]) == 0
    return out


def test_every_task_is_a_config_and_the_dry_clips_are_stored_once(both):
    manifest = json.loads((both / "fxbench.json").read_text())
    assert sorted(manifest["tasks"]) == ["small_bitcrush", "small_delay"]
    clip_ids = {}
    for name in manifest["tasks"]:
        ds = datasets.load_dataset(str(both), name)
        clip_ids[name] = {(c, s) for s in ds for c in ds[s]["clip_id"]}
    dry = datasets.load_dataset(str(both), "dry")
    stored = [(c, s) for s in dry for c in dry[s]["clip_id"]]
    assert len(stored) == len(set(stored)), "a dry clip is stored twice"
    union = clip_ids["small_bitcrush"] | clip_ids["small_delay"]
    assert set(stored) == union and len(union) < sum(map(len, clip_ids.values())), "no clip was shared"
    assert sum(manifest["dry_clips"].values()) == len(union)
    assert verify_dataset(both) == []


def test_a_task_in_the_repo_is_exactly_its_own_build(both, tmp_path):
    manifest = json.loads((both / "fxbench.json").read_text())
    task = load_task("small_delay")
    alone = build_dataset(task, open_source("synth", task, 0), 0, tmp_path / "alone", progress=False)
    mine = manifest["tasks"]["small_delay"]
    assert mine["fingerprint"] == alone["fingerprint"]
    assert mine["files"] == {k: v for k, v in alone["files"].items() if k.startswith("small_delay/")}
    splits = load_splits(both, task)
    assert len(splits["test"]) == alone["splits"]["test"]["rows"]
    assert splits["train"].dry_x(splits["train"].clip_ids[:2]).shape[0] == 2


def test_the_repo_card_is_complete_and_loads_without_a_warning(both, datasets_warnings):
    import yaml

    manifest = json.loads((both / "fxbench.json").read_text())
    for config in ("small_bitcrush", "small_delay", "dry"):
        datasets.load_dataset(str(both), config)
    assert not [m for m in datasets_warnings if "dataset_info" in m], datasets_warnings
    card = yaml.safe_load((both / "README.md").read_text().split("---\n")[1])
    info = {c["config_name"]: c for c in card["dataset_info"]}
    assert [s["num_examples"] for s in info["dry"]["splits"]] == [manifest["dry_clips"][s]
                                                                   for s in ("train", "validation", "test")]
    for name, config in info.items():
        assert config["dataset_size"] == sum(s["num_bytes"] for s in config["splits"]) > 0
        assert config["download_size"] == sum(f.stat().st_size for f in (both / name).glob("*.parquet"))
    assert card["size_categories"] == ["n<1K"] and "@techreport{" in (both / "README.md").read_text()


def test_run_on_the_repo_picks_its_task_and_rejects_a_missing_one(both, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "--task", "small_delay", "--model", "mean", "--data", str(both), "--output", str(out),
                 "--quiet"]) == 0
    record = json.loads(out.read_text())
    assert record["dataset_fingerprint"] == json.loads((both / "fxbench.json").read_text())["tasks"][
        "small_delay"]["fingerprint"]
    assert main(["run", "--task", "bitcrush", "--model", "mean", "--data", str(both), "--quiet"]) == 2
    assert "holds no task 'bitcrush' (it has small_bitcrush, small_delay)" in capsys.readouterr().err


def test_naming_a_task_twice_is_an_error(capsys, tmp_path):
    assert main(["data", "build", "--task", "small_bitcrush,small_bitcrush", "--out", str(tmp_path / "x")]) == 2
    assert "names task 'small_bitcrush' twice" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
