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


def _error(text: str) -> FxbenchError:
    with pytest.raises(FxbenchError) as err:
        parse_task(text, "tasks/t.yaml")
    return err.value


def _set(key: str, value: str):
    """Edit GOOD: set a top-level key, or one inside a block (effect, dataset, features, splits)."""
    def edit(s: str) -> str:
        if key.startswith("effect."):
            return s.replace("effect: {plugin: Bitcrush}", f"effect: {{plugin: Bitcrush, {key[7:]}: {value}}}")
        if key.startswith("dataset."):
            return s.replace("dataset: {clips: 10}", f"dataset: {{clips: 10, {key[8:]}: {value}}}")
        if "." in key:
            block, sub = key.split(".")
            return s + f"{block}: {{{sub}: {value}}}\n"
        return s + f"{key}: {value}\n"
    return edit


@pytest.mark.parametrize("key, value, needle", [
    ("features.hop_length", "0", "must be at least 1"),
    ("features.hop_length", "2048", "exceeds n_fft 1024"),
    ("features.n_mels", "-5", "must be at least 1"),
    ("features.n_mels", "600", "exceeds the 513 FFT bins"),
    ("features.n_fft", "1.5", "expected an integer"),
    ("features.to_db", "1", "expected true or false"),
    ("clip_seconds", "-1", "must be greater than 0"),
    ("clip_seconds", "31", "must be at most 30"),
    ("clip_seconds", ".nan", "expected a finite number"),
    ("clip_seconds", "'2'", "expected a number"),
    ("sample_rate", "0", "must be at least 1"),
    ("sample_rate", "44100.0", "expected an integer"),
    ("sample_rate", "true", "expected an integer"),
    ("effect.input_gain_db", ".nan", "expected a finite number"),
    ("effect.input_gain_db", ".inf", "expected a finite number"),
    ("effect.fixed", "{mix: .nan}", "expected a finite number, text or true/false"),
    ("dataset.clips_per_recording", "0", "must be at least 1"),
    ("splits.train", "0", "must be greater than 0"),
    ("splits.by", "clip", "expected 'recording'"),
    ("main_metric", "r2", "expected 'mae' or 'mse'"),
    ("metrics", "[mae, mae]", "listed twice"),
])
def test_out_of_bounds_values_name_the_dotted_field_and_the_fix(key, value, needle):
    err = _error(_set(key, value)(GOOD))
    msg = str(err)
    # dict keys inside effect.fixed get their own segment
    where = "effect.fixed.mix" if key == "effect.fixed" else key
    assert msg.startswith(f"tasks/t.yaml: {where}: ") and needle in msg, msg
    assert "; " in msg.split(f"{where}: ", 1)[1], f"no fix in {msg!r}"
    assert "\n" not in msg and err.exit_code == 2


def test_grid_size_is_capped():
    values = ", ".join(str(i / 100) for i in range(100))
    text = GOOD.replace("dataset:", f"  - {{name: a, unit: '', grid: [{values}], range: [0, 1]}}\n"
                                    f"  - {{name: b, unit: '', grid: [{values}], range: [0, 1]}}\ndataset:")
    msg = str(_error(text))
    assert msg.startswith("tasks/t.yaml: parameters: the grids make 30000 combinations, more than 4096"), msg
    long = GOOD.replace("grid: [0, 8, 16]", f"grid: [{', '.join(str(i / 1000) for i in range(5000))}]")
    assert "parameters[0].grid: 5000 given, allows at most 4096" in str(_error(long))


def test_every_problem_is_counted_but_only_the_first_shown():
    msg = str(_error(GOOD + "clip_seconds: -1\nsample_rate: 0\nfeatures: {hop_length: 0}\n"))
    assert msg.startswith("tasks/t.yaml: sample_rate: must be at least 1") and msg.endswith("(and 2 more)"), msg
    # a failed parameter is one problem, not also "parameters: too short"
    assert str(_error(GOOD.replace("grid: [0, 8, 16]", "grid: [0, 8, 8]"))).endswith("remove the repeated value")


def test_unknown_keys_suggest_the_spelling_and_list_the_allowed_ones():
    msg = str(_error(GOOD + "features: {hop_lenght: 256}\n"))
    assert "features: unknown key 'hop_lenght'; rename it to 'hop_length' (allowed: kind, n_fft," in msg, msg
    assert "unknown key 'path'" in str(_error(GOOD + "path: elsewhere.yaml\n"))


def test_task_file_errors_are_usage_errors(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    with pytest.raises(FxbenchError) as err:
        load_task(str(path))
    assert err.value.exit_code == 2
    assert _error("task: [\n").exit_code == 2 and _error("- a list\n").exit_code == 2


def test_the_schema_is_the_dataclass():
    """Building a task in code goes through the same checks as reading one."""
    import dataclasses

    from pydantic import ValidationError

    task = parse_task(GOOD, "tasks/t.yaml")
    assert dataclasses.is_dataclass(task) and task.path == "tasks/t.yaml"
    with pytest.raises(ValidationError):
        dataclasses.replace(task, clip_seconds=-1.0)


# the digests of the shipped tasks: datasets, records and the leaderboard are keyed on them
DIGESTS = {
    "bitcrush": "c0dcc5fc1ea0fcf3d5dfdb9ce02cf53079666c45e1bf978ce8c1d65f39b37b60",
    "delay": "32b350beb82a1a3c5c3c5413d7c83bbd12293623d22a17ecdf10e591be3af599",
    "limiter": "5177ea1977435aa4861436d1a2c4493233976dc32ef8f55d573cfa05b3c722b8",
    "samplerate": "b33687636bcff98167bd50f1ffd16175d40ac0e8297fd38aaa9a97e6a4ad9281",
}


def test_shipped_task_digests_are_unchanged():
    assert {name: load_task(name).digest() for name in DIGESTS} == DIGESTS
    d = load_task("bitcrush").to_dict()
    assert "path" not in d and "reference" not in d and "real_clips_per_recording" not in d["dataset"]
    assert d["parameters"][0]["grid"][:2] == (0.0, 1.0) and d["parameters"][0]["bypass"] == 16.0


def test_task_list_fits_80_columns_with_every_name_whole(monkeypatch, capsys):
    from fxbench.cli import main

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert out.split()[:6] == ["task", "v", "family", "effect", "targets", "rows"]
    mark = {"uniform": "~", "log": "~log", "presence": " 0/1"}
    for name in available_tasks():
        task = load_task(name)
        stages = [s.plugin for s in task.effect.chain] or [task.effect.plugin]
        assert name in out and all(s in out for s in stages)
        assert all((f"{p.name}[{len(p.grid)}]" if p.grid else f"{p.name}{mark[p.sampling]}") in out
                   for p in task.parameters), out


SAMPLED = """\
task: t
version: 1
description: d
effect: {plugin: Reverb, fixed: {dry_level: 0.4}}
parameters:
  - {name: room_size, unit: '', range: [0.0, 1.0], sampling: uniform}
  - {name: wet_level, unit: '', range: [0.05, 0.7], sampling: log, tolerance: 0.1}
dataset: {clips: 10, draws_per_clip: 4}
"""


def test_a_sampled_task_parses_and_hashes_its_new_fields():
    t = parse_task(SAMPLED, "tasks/t.yaml")
    assert t.is_sampled and t.rows_per_clip == 4 and t.parameters[1].scaled_tolerance == 0.1
    d = t.to_dict()
    assert d["dataset"]["draws_per_clip"] == 4 and d["parameters"][1]["sampling"] == "log"
    assert "grid" not in d["parameters"][0] and "tolerance" not in d["parameters"][0]
    assert parse_task(SAMPLED.replace("draws_per_clip: 4", "draws_per_clip: 5"), "t.yaml").digest() != t.digest()
    assert "draws_per_clip" not in load_task("bitcrush").to_dict()["dataset"]
    assert "sampling" not in load_task("bitcrush").to_dict()["parameters"][0]


@pytest.mark.parametrize("text, needle", [
    (SAMPLED.replace("plugin: Reverb", "plugin: Reverbb"), "effect.plugin: 'Reverbb' is neither a pedalboard plugin"
                                                           " nor an fxbench effect; did you mean 'Reverb'?"),
    (SAMPLED.replace("dry_level: 0.4", "dry_levl: 0.4"), "effect.fixed.dry_levl: Reverb has no setting 'dry_levl'"),
    (SAMPLED.replace("name: room_size", "name: roomsize"), "parameters[0].name: Reverb has no setting 'roomsize'"),
    (SAMPLED.replace("range: [0.0, 1.0]", "range: [0.0, 2.0]"),
     "parameters[0].range: Reverb refuses room_size = 2 (Room Size value must be between 0.0 and 1.0.); keep"),
    (SAMPLED.replace("range: [0.05, 0.7]", "range: [0.0, 0.7]"),
     "parameters[1].range: sampling: log needs a positive range, got [0.0, 0.7]; raise the lower bound"),
    (SAMPLED.replace("range: [0.0, 1.0], sampling: uniform", "range: [0.0, 1.0], grid: [0.0, 1.0]"),
     "parameters[0].grid: 'room_size' has a grid, but dataset.draws_per_clip asks for sampled renders; give it"),
    (SAMPLED.replace(", draws_per_clip: 4", ""), "dataset: parameter 'room_size' is sampled but draws_per_clip"),
    (SAMPLED.replace("sampling: uniform", "sampling: uniform, grid: [0.0, 1.0]"),
     "parameters[0]: needs exactly one of grid (values to render) and sampling"),
    (SAMPLED.replace("sampling: uniform", "sampling: normal"), "parameters[0].sampling: expected 'uniform', 'log' or 'presence'"),
    (SAMPLED.replace("sampling: uniform", "sampling: uniform, bypass: 0.0"), "parameters[0].bypass: a sampled"),
    (SAMPLED.replace("tolerance: 0.1", "tolerance: 1.5"), "parameters[1].tolerance: must be less than 1"),
    (SAMPLED + "metrics: [mae, grid_accuracy]\n", "metrics: grid_accuracy needs grid parameters; use within_"),
    (GOOD.replace("grid: [0, 8, 16]", "grid: [0, 16, 40]").replace("range: [0, 16]", "range: [0, 40]"),
     "parameters[0].grid: Bitcrush refuses bit_depth = 40"),
    (GOOD.replace("unit: bits,", "unit: bits, tolerance: 0.1,"), "parameters[0].tolerance: applies to sampled"),
    (GOOD + "metrics: [mae, within_tolerance]\n", "metrics: within_tolerance needs sampled parameters"),
])
def test_bad_sampled_or_plugin_settings_fail_at_load(text, needle):
    err = _error(text)
    msg = str(err)
    assert msg.startswith("tasks/t.yaml: ") and needle in msg, msg
    assert "\n" not in msg and err.exit_code == 2


def test_a_non_finite_render_at_a_range_end_is_refused():
    text = SAMPLED.replace("plugin: Reverb, fixed: {dry_level: 0.4}", "plugin: Distortion").replace(
        "  - {name: wet_level, unit: '', range: [0.05, 0.7], sampling: log, tolerance: 0.1}\n", "").replace(
        "name: room_size, unit: '', range: [0.0, 1.0]", "name: drive_db, unit: dB, range: [0.0, 1000.0]")
    assert "parameters[0].range: Distortion gives non-finite audio at drive_db = 1000" in str(_error(text))
