"""Task groups: every packaged task has a family, `fxbench tasks` lists them by family, and one group name
builds or runs each of its tasks."""
from __future__ import annotations

import json

import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.task import load_task, task_dirs
from fxbench.task_groups import FAMILIES, resolve_tasks, task_groups

PACKAGED = sorted(p.stem for p in task_dirs()[0].glob("*.yaml"))

TINY = """\
task: {name}
version: 1
description: A tiny grid task of the tiny family, for tests.
effect: {{plugin: Bitcrush}}
parameters:
  - {{name: bit_depth, unit: bits, grid: [4.0, 8.0, 16.0], range: [4.0, 16.0]}}
dataset: {{clips: 3, clips_per_recording: 1}}
groups: [tiny]
"""


def test_every_packaged_task_names_a_known_family_and_the_issue_s_families_all_have_tasks():
    assert len(PACKAGED) >= 13
    for name in PACKAGED:
        groups = load_task(name).groups
        assert groups and groups[0] in FAMILIES, (name, groups)
    packaged = {g: [n for n in members if n in PACKAGED] for g, members in task_groups().items()}
    assert all(packaged[f] for f in FAMILIES), {f: packaged.get(f) for f in FAMILIES}
    assert packaged["paper"] == ["bitcrush", "delay", "limiter", "samplerate"]


def test_tasks_lists_every_task_and_every_group(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[1:] if line[:1].strip()]
    assert set(PACKAGED) <= set(rows)
    assert all(f"  {f}: " in out for f in FAMILIES)
    assert max(map(len, out.splitlines())) <= 80


def test_a_spec_resolves_groups_all_and_lists():
    assert resolve_tasks("paper") == ["bitcrush", "delay", "limiter", "samplerate"]
    assert resolve_tasks("tone,mp3")[-1] == "mp3" and "distortion" in resolve_tasks("tone")
    assert set(PACKAGED) <= set(resolve_tasks("all"))
    assert resolve_tasks("chain") == ["chain"]  # the task of that name, which is also its family's only one


@pytest.mark.parametrize("spec, needle", [
    ("papr", "unknown task or group 'papr'. Did you mean 'paper'?"),
    ("paper,bitcrush", "names task 'bitcrush' twice"),
    (",", "--task is empty"),
])
def test_a_bad_spec_is_one_line(spec, needle):
    with pytest.raises(FxbenchError) as err:
        resolve_tasks(spec)
    assert needle in str(err.value) and "\n" not in str(err.value) and err.value.exit_code == 2


@pytest.fixture(scope="module")
def tiny_family(task_dir):
    for name in ("tiny_a", "tiny_b"):
        (task_dir / f"{name}.yaml").write_text(TINY.format(name=name))
    return ["tiny_a", "tiny_b"]


def test_building_a_group_builds_each_of_its_tasks(tiny_family, tmp_path):
    out = tmp_path / "repo"
    assert main(["data", "build", "--task", "tiny", "--out", str(out), "--quiet"]) == 0
    assert sorted(json.loads((out / "fxbench.json").read_text())["tasks"]) == tiny_family


def test_running_a_group_writes_a_record_per_task(tiny_family, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--task", "tiny", "--model", "mean", "--quiet", "--results-dir", str(results)]) == 0
    assert "[1/2] tiny_a" in capsys.readouterr().out
    assert sorted(p.parent.name for p in results.rglob("*.json")) == tiny_family


def test_a_group_run_refuses_one_output_file_before_any_work(tiny_family, tmp_path, capsys):
    assert main(["run", "--task", "tiny", "--model", "mean", "--output", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "is 2 tasks but --output names one" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()
