"""Chains and detection: stages applied in order and bypassed at random, presence targets, knobs scored only
where their stage was heard, and task files that get a chain wrong refused at load."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.errors import FxbenchError
from fxbench.features import MelFeatures
from fxbench.metrics import compute_metrics, row_errors, scored_mask
from fxbench.render import GridRenderer, from_int16, to_int16
from fxbench.sampling import draws, varied_key
from fxbench.sources.synth import synth_recording
from fxbench.task import load_task, parse_task

SR = 44100

CHAIN = """\
task: t
version: 1
description: d
effect:
  chain:
    - {name: drive, plugin: Distortion, p_active: 0.5}
    - {name: echo, plugin: Delay, fixed: {feedback: 0.3}, vary: {mix: [0.2, 0.5]}}
parameters:
  - {name: drive_on, unit: '', range: [0.0, 1.0], sampling: presence, stage: drive}
  - {name: drive_db, unit: dB, range: [0.0, 40.0], sampling: uniform, stage: drive}
  - {name: echo_s, unit: s, range: [0.05, 0.4], sampling: log, stage: echo, setting: delay_seconds}
dataset: {clips: 10, draws_per_clip: 4}
"""


def _error(text: str) -> FxbenchError:
    with pytest.raises(FxbenchError) as err:
        parse_task(text, "tasks/t.yaml")
    return err.value


def test_a_good_chain_loads():
    t = parse_task(CHAIN, "tasks/t.yaml")
    assert t.effect.label == "Distortion > Delay" and t.scored_on() == [None, 0, None]
    assert t.parameters[2].knob == "delay_seconds"


@pytest.mark.parametrize("text, needle", [
    (CHAIN.replace("  chain:\n    - {name: drive, plugin: Distortion, p_active: 0.5}\n"
                   "    - {name: echo, plugin: Delay, fixed: {feedback: 0.3}, vary: {mix: [0.2, 0.5]}}\n",
                   "  chain: []\n"), "effect.plugin: the effect names no plugin (nor a chain with a stage)"),
    (CHAIN.replace("{name: drive, plugin: Distortion,", "{name: drive,"), "effect.chain[0]: missing required field "
                                                                          "'plugin'"),
    (CHAIN.replace("plugin: Distortion", "plugin: Distorton"),
     "effect.chain[0].plugin: 'Distorton' is neither a pedalboard plugin nor an fxbench effect; did you mean "
     "'Distortion'?"),
    (CHAIN.replace("stage: echo,", "stage: reverb,"), "parameters[2].stage: 'echo_s' names stage 'reverb', which "
                                                      "the chain lacks (stages: drive, echo)"),
    (CHAIN.replace("setting: delay_seconds", "setting: delay_time"), "parameters[2].name: Delay has no setting "
                                                                      "'delay_time'"),
    (CHAIN.replace("vary: {mix: [0.2, 0.5]}", "vary: {mix: [0.2, 1.5]}"), "effect.chain[1].vary.mix: Delay "
                                                                           "refuses mix = 1.5"),
    (CHAIN.replace("vary: {mix: [0.2, 0.5]}", "vary: {mix: [0.5, 0.2]}"), "mix: upper bound must exceed"),
    (CHAIN.replace("vary: {mix: [0.2, 0.5]}", "vary: {delay_seconds: [0.1, 0.2]}"),
     "Delay's setting 'delay_seconds' is turned twice"),
    (CHAIN.replace(", p_active: 0.5}", "}"), "parameters[0]: stage 'drive' is never bypassed (p_active 1), so its "
                                             "presence is no target"),
    (CHAIN.replace("  - {name: drive_on, unit: '', range: [0.0, 1.0], sampling: presence, stage: drive}\n", ""),
     "effect.chain[0].p_active: stage 'drive' may be bypassed but has no presence target; add a parameter with "
     "sampling: presence and stage: drive"),
    (CHAIN.replace("range: [0.0, 1.0], sampling: presence", "range: [0.0, 2.0], sampling: presence"),
     "parameters[0]: a presence target has range [0, 1], names its chain stage and no setting"),
    (CHAIN.replace(", stage: drive}\n  - {name: drive_db", "}\n  - {name: drive_db"),
     "parameters[0]: a presence target has range [0, 1]"),
    (CHAIN.replace("  chain:\n", "  fixed: {mix: 0.5}\n  chain:\n"), "effect.fixed: a chain's settings belong to "
                                                                      "its stages"),
    (CHAIN.replace("name: echo,", "name: drive,"), "effect.chain: two stages share a name"),
    (CHAIN.replace("{clips: 10, draws_per_clip: 4}", "{clips: 10}"), "is sampled but draws_per_clip is not set"),
])
def test_a_chain_gone_wrong_is_one_line_naming_file_and_field(text, needle):
    err = _error(text)
    msg = str(err)
    assert msg.startswith("tasks/t.yaml: ") and needle in msg, msg
    assert "\n" not in msg and err.exit_code == 2


def test_a_single_plugin_task_may_not_name_stages():
    text = CHAIN.split("effect:")[0] + """effect: {plugin: Distortion}
parameters:
  - {name: drive_db, unit: dB, range: [0.0, 40.0], sampling: uniform, stage: drive}
dataset: {clips: 10, draws_per_clip: 4}
"""
    assert "parameters[0].stage: 'drive_db' names a chain stage, but the effect is one plugin" in str(_error(text))


def test_presence_is_drawn_at_p_active_and_draws_are_reproducible():
    t = load_task("detect")
    on = np.concatenate([draws(t, 0, f"clip{i}")["chorus_on"] for i in range(250)])
    assert set(np.unique(on)) == {0.0, 1.0} and 0.44 < on.mean() < 0.56  # p_active 0.5 over 1,000 renders
    a, b = draws(t, 0, "clip7"), draws(t, 0, "clip7")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert varied_key("delay", "feedback") in a and "delay.feedback" not in t.param_names
    lo, hi = t.effect.chain[3].vary["feedback"]
    fb = np.concatenate([draws(t, 0, f"clip{i}")["delay.feedback"] for i in range(50)])
    assert lo <= fb.min() and fb.max() <= hi and fb.std() > 0.05


@pytest.fixture(scope="module")
def dry_pcm() -> np.ndarray:
    x = synth_recording(0, 0, 2.0, SR, 6).audio[:2 * SR]
    return to_int16(x / np.abs(x).max() * 10 ** (-1 / 20))


def _point(task, **values) -> dict[str, np.ndarray]:
    """One render's settings: presence off, knobs mid-range, varied settings mid-range, then ``values``."""
    out = {p.name: np.array([0.0 if p.is_presence else p.unscale(0.5)], dtype=np.float32) for p in task.parameters}
    for s in task.effect.chain:
        for k, (lo, hi) in s.vary.items():
            out[varied_key(s.name, k)] = np.array([(lo + hi) / 2], dtype=np.float32)
    out.update({k: np.array([v], dtype=np.float32) for k, v in values.items()})
    return out


def _render(task, pcm, **values) -> np.ndarray:
    return from_int16(GridRenderer(task).render_at(pcm, _point(task, **values))[0])


def test_a_bypassed_stage_is_unheard_and_every_stage_is_heard(dry_pcm):
    t = load_task("chain")
    dry = from_int16(dry_pcm)
    gain = 10 ** (t.effect.chain[-1].fixed["gain_db"] / 20)
    # every stage bypassed: only the level stage, which is always on
    assert np.abs(_render(t, dry_pcm) - dry * gain).max() < 2 / 32768
    # a bypassed stage's knob changes nothing; an applied one's does
    assert np.array_equal(_render(t, dry_pcm, drive_db=5.0), _render(t, dry_pcm, drive_db=35.0))
    assert np.abs(_render(t, dry_pcm, distortion_on=1.0, drive_db=5.0)
                  - _render(t, dry_pcm, distortion_on=1.0, drive_db=35.0)).mean() > 0.01
    mel = MelFeatures(t.features, SR)
    base = mel(_render(t, dry_pcm)[None])[0]
    for on in ("distortion_on", "delay_on", "reverb_on"):
        change = float(np.abs(mel(_render(t, dry_pcm, **{on: 1.0})[None])[0] - base).mean())
        assert change > 0.01, (on, change)


def test_each_chain_knob_changes_the_features_where_its_stage_is_on(dry_pcm):
    t = load_task("chain")
    mel = MelFeatures(t.features, SR)
    for p in t.parameters:
        if p.is_presence:
            continue
        on = t.parameters[t.presence_index()[p.stage]].name
        lo, hi = (mel(_render(t, dry_pcm, **{on: 1.0, p.name: float(p.unscale(end))})[None])[0] for end in (0.0, 1.0))
        assert float(np.abs(lo - hi).mean()) > 0.01, p.name


def test_every_detect_effect_changes_the_features_alone_and_among_the_others(dry_pcm):
    t = load_task("detect")
    mel = MelFeatures(t.features, SR)
    names = t.param_names
    for name in names:
        alone = [mel(_render(t, dry_pcm, **{name: v})[None])[0] for v in (0.0, 1.0)]
        others = {n: 1.0 for n in names if n != name}
        among = [mel(_render(t, dry_pcm, **others, **{name: v})[None])[0] for v in (0.0, 1.0)]
        assert float(np.abs(alone[0] - alone[1]).mean()) > 0.01, name
        assert float(np.abs(among[0] - among[1]).mean()) > 0.005, name


def test_knobs_are_scored_only_where_their_stage_was_applied():
    t = load_task("chain")
    rng = np.random.default_rng(0)
    y = rng.random((200, len(t.parameters)))
    for j in t.presence_index().values():
        y[:, j] = rng.random(200) < 0.7
    pred = y.copy()
    knob = t.param_names.index("drive_db")
    off = y[:, t.presence_index()["distortion"]] < 0.5
    pred[off, knob] = 1 - y[off, knob]  # wrong only where the distortion was bypassed
    m = compute_metrics(t, y, pred)
    assert m["mae"] == 0 and m["per_param_mae"]["drive_db"] == 0 and m["within_tolerance"] == 1
    assert m["macro_f1"] == 1 and m["per_param_accuracy"]["delay_on"] == 1
    pred[~off, knob] = np.clip(y[~off, knob] + 0.2, 0, 1) - 0.0  # now wrong where it was applied
    m = compute_metrics(t, y, pred)
    rows = row_errors(t, y, pred)
    assert m["per_param_mae"]["drive_db"] > 0.05 and m["mae"] == pytest.approx(rows.mean())
    mask = scored_mask(t, y)
    assert mask[off, knob].sum() == 0 and mask[:, t.presence_index()["distortion"]].all()


def test_macro_f1_is_the_mean_of_each_effect_s_f1_at_one_half():
    t = load_task("detect")
    y = np.zeros((4, 5))
    y[:2] = 1  # every effect on in the first two rows
    pred = np.full((4, 5), 0.2)
    pred[0] = 0.9  # one hit per effect, one miss, no false alarm: F1 = 2/3 each
    m = compute_metrics(t, y, pred)
    assert m["macro_f1"] == pytest.approx(2 / 3) and m["per_param_accuracy"]["reverb_on"] == 0.75
    pred[:, 0] = 0.8  # compressor: two hits and two false alarms, F1 = 2/3 still; accuracy 1/2
    m = compute_metrics(t, y, pred)
    assert m["per_param_f1"]["compressor_on"] == pytest.approx(2 / 3)
    assert m["per_param_accuracy"]["compressor_on"] == 0.5


def test_the_confusion_figure_counts_presences_off_on_and_knobs_where_heard(tmp_path, monkeypatch):
    import fxbench.plots as plots

    t = load_task("chain")
    y = np.full((8, len(t.parameters)), 0.5)
    on = t.presence_index()["distortion"]
    y[:, on] = [1, 1, 1, 0, 0, 0, 0, 0]
    shown = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: shown.append(fig) or path)
    plots.confusion_matrix_png(t, y, y, tmp_path / "c.png")
    axes = shown[0].axes
    counts = axes[0].images[0].get_array()
    assert counts.shape == (2, 2) and counts[0, 0] == 5 and counts[1, 1] == 3
    assert axes[1].images[0].get_array().sum() == 3  # drive_db: only the three rows with the distortion on
