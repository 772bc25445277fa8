"""Task files: the packaged ones parse, and broken ones fail loudly, naming the file and the field."""
from __future__ import annotations

import pytest

from fxbench.errors import FxbenchError
from fxbench.task import available_tasks, load_task, parse_task

GOOD = """\
task: t
version: 1
description: d
effect: {plugin: Bitcrush}
parameters:
  - {name: bit_depth, unit: bits, grid: [0, 8, 16], range: [0, 16], bypass: 16}
dataset: {clips: 10}
"""


def test_bitcrush_follows_the_paper():
    t = load_task("bitcrush")
    p = t.parameters[0]
    assert p.grid == tuple(float(v) for v in range(17)) and p.range == (0.0, 16.0) and p.bypass == 16
    assert (t.sample_rate, t.clip_seconds) == (44100, 2.0)
    f = t.features
    assert (f.n_fft, f.hop_length, f.n_mels, f.to_db, f.normalize) == (1024, 512, 128, True, "minmax")
    assert (t.splits.train, t.splits.validation, t.splits.test) == (0.8, 0.1, 0.1)
    assert 950 <= t.dataset.clips * len(t.grid_points()) <= 1100
    assert p.scale(8.0) == 0.5 and p.unscale(0.25) == 4.0


def test_every_packaged_task_loads():
    for name in available_tasks():
        assert load_task(name).task == name


@pytest.mark.parametrize("edit, needle", [
    (lambda s: s + "colour: red\n", "unknown key 'colour'"),
    (lambda s: s.replace("version: 1\n", ""), "missing required field 'version'"),
    (lambda s: s.replace("version: 1", "version: one"), "version: expected an integer"),
    (lambda s: s.replace("unit: bits", "unit: bits, step: 1"), "parameters[0]: unknown key 'step'"),
    (lambda s: s.replace("range: [0, 16]", "range: [16, 0]"), "parameters[0].range"),
    (lambda s: s.replace("grid: [0, 8, 16]", "grid: [0, 8, 32]"), "parameters[0].grid: value 32"),
    (lambda s: s.replace("bypass: 16", "bypass: 7"), "parameters[0].bypass"),
    (lambda s: s + "metrics: [mae, accuracy]\n", "metrics: unknown metric 'accuracy'"),
    (lambda s: s + "splits: {train: 0.5, validation: 0.1, test: 0.1}\n", "splits:"),
    (lambda s: "task: [\n", "not valid YAML"),
])
def test_malformed_task_names_file_and_field(edit, needle):
    with pytest.raises(FxbenchError) as err:
        parse_task(edit(GOOD), "tasks/t.yaml")
    msg = str(err.value)
    assert msg.startswith("tasks/t.yaml") and needle in msg, msg
    assert "\n" not in msg


def test_unknown_task_suggests_the_closest():
    with pytest.raises(FxbenchError) as err:
        load_task("bitcrsh")
    assert "Did you mean 'bitcrush'" in str(err.value) and err.value.exit_code == 2


def test_file_name_must_match_task_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    with pytest.raises(FxbenchError, match="must match the file name"):
        load_task(str(path))


def test_duplicate_task_names_are_an_error(tmp_path, monkeypatch):
    (tmp_path / "bitcrush.yaml").write_text(GOOD.replace("task: t", "task: bitcrush"))
    monkeypatch.setenv("FXBENCH_TASK_PATH", str(tmp_path))
    with pytest.raises(FxbenchError, match="defined twice"):
        available_tasks()
