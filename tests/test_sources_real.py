"""Real recordings through the source registry: the shipped GuitarSet excerpts and a few electric DIs
(from ../shared/real-guitar, never copied into the repo) become datasets split by player or recording,
with the source's licence on the card; short, empty and mistyped sources fail or warn by name; and the
synth datasets keep the fingerprints they had before the registry."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from fxbench.cli import main
from fxbench.errors import FxbenchError

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-guitar"
DI = REAL / "di"
needs_di = pytest.mark.skipif(not DI.is_dir(), reason=f"real DI recordings not found at {DI}")
DI_FILES = ["misc_dafx15_chord.flac", "misc_dafx15_riff.flac", "t3k_jazz_hop_guitar.flac", "t3k_raid_guitar.flac"]

# Bitcrush at four depths on 8 clips: budget 6 / 1 / 1, a build of a few seconds.
TINY = """\
task: tiny_bitcrush
version: 1
description: Bitcrush at four depths on 8 clips, for tests of real sources.
effect: {plugin: Bitcrush, fixed: {}}
parameters:
  - {name: bit_depth, unit: bits, grid: [2, 6, 10, 16], range: [0, 16], bypass: 16}
dataset: {clips: 8, clips_per_recording: 1}
"""

#: `fingerprint(load_task(t), open_source("synth", task, 0), 0)` of synth version 2 and dataset format 3: the
#: default data may change only with a synth (or task, or format) version bump, never as a side effect.
SYNTH_FINGERPRINTS = {
    "bitcrush": "45183661eee3015825737ab191d46cc151ed09aa94f317b95e893c2a75389cd4",
    "delay": "a8373acaea5428498a11f9b385571787ea7779e5c7e5f0fe436db909116592e3",
    "limiter": "cf210cd9d153ed46049612842fa74c18151319464cc5a48e3d25df6b947a262b",
    "samplerate": "123facc285bf3cf1fed0869994ba85512ac41ee5f0a428239a577485f85051bb",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-task") / "tiny_bitcrush.yaml"
    path.write_text(TINY)
    return path


def _di_folder(root: Path, names: list[str]) -> Path:
    """Links to the shared DI files: the recordings are used where they are, not copied."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).symlink_to(DI / name)
    return root


def _owners(out: Path, config: str) -> dict[str, set[str]]:
    import datasets

    owners: dict[str, set[str]] = {}
    for split, d in datasets.load_dataset(str(out), config).items():
        assert len(d) > 0
        for rid in set(d["recording_id"]):
            owners.setdefault(rid, set()).add(split)
    return owners


def _card_licence(out: Path) -> str:
    import yaml

    return yaml.safe_load((out / "README.md").read_text().split("---\n")[1])["license"]


def test_default_synth_fingerprints_are_unchanged() -> None:
    from fxbench.dataset.build import fingerprint
    from fxbench.sources import open_source
    from fxbench.task import load_task

    for name, expected in SYNTH_FINGERPRINTS.items():
        task = load_task(name)
        assert fingerprint(task, open_source("synth", task, 0), 0) == expected, name


def test_clips_per_recording_follows_the_source_kind(tiny: Path) -> None:
    from fxbench.dataset.clips import ClipPolicy
    from fxbench.sources import open_source
    from fxbench.task import load_task, parse_task

    task = load_task(str(tiny))
    assert ClipPolicy.for_task(task, open_source("synth", task, 0)).clips_per_recording == 1
    assert ClipPolicy.for_task(task, open_source("guitarset-excerpts", task, 0)).clips_per_recording == 16
    assert ClipPolicy.for_task(task, open_source("guitarset-excerpts", task, 0, 3)).clips_per_recording == 3
    assert ClipPolicy.for_task(task, open_source("synth", task, 0, 3)).clips_per_recording == 3
    # a task-level default for real sources; a synth build does not see it, so the digest leaves it out
    other = parse_task(TINY.replace("clips_per_recording: 1}", "clips_per_recording: 1, real_clips_per_recording: 4}"),
                       "tiny")
    assert other.dataset.real_clips_per_recording == 4 and other.digest() == task.digest()
    assert ClipPolicy.for_task(other, open_source("guitarset-excerpts", other, 0)).clips_per_recording == 4


def test_registry_rejects_unknown_sources_with_a_hint(tiny: Path) -> None:
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task(str(tiny))
    with pytest.raises(FxbenchError, match=r"unknown source 'guitarset-exerpts'\. Did you mean 'guitarset-excerpts'\?"
                       r".*folder:PATH") as e:
        open_source("guitarset-exerpts", task, 0)
    assert e.value.exit_code == 2
    with pytest.raises(FxbenchError, match=r"--source folder:PATH needs a path"):
        open_source("folder", task, 0)
    with pytest.raises(FxbenchError, match=r"source 'synth' takes no argument"):
        open_source("synth:/tmp", task, 0)
    with pytest.raises(FxbenchError, match=r"--clips-per-recording must be at least 1, got 0"):
        open_source("synth", task, 0, 0)


def test_sources_command_lists_every_source(capsys: pytest.CaptureFixture) -> None:
    assert main(["sources"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == {"synth", "folder:PATH", "guitarset:PATH", "guitarset-excerpts"}
    assert lines["synth"].split()[1:3] == ["synth", "mit"]
    assert lines["guitarset-excerpts"].split()[1:3] == ["real", "cc-by-4.0"]
    assert lines["folder:PATH"].split()[1:3] == ["real", "other"]
    assert "train 03, validation 04, test 05" in lines["guitarset-excerpts"]


@pytest.mark.parametrize("command", [["data", "build", "--out", "ds"], ["run", "--model", "mean"],
                                     ["score", "--predictions", "p.csv"], ["validate-model", "mean"]],
                         ids=["data build", "run", "score", "validate-model"])
def test_bad_clips_per_recording_is_one_line_exit_2(command: list[str], tiny: Path, capsys) -> None:
    assert main([*command, "--task", str(tiny), "--clips-per-recording", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["fxbench: error: --clips-per-recording must be at least 1, got 0"]


def test_shipped_excerpts_build_split_by_player(tiny: Path, tmp_path: Path, capsys) -> None:
    from fxbench.sources.guitarset_excerpts import DATA

    flacs = sorted(p.name for p in (DATA / "audio_mono-mic").glob("*.flac"))
    assert len(flacs) == 8 and sum(p.stat().st_size for p in DATA.rglob("*.flac")) <= 12_000_000
    assert "CC-BY-4.0" in (DATA / "README.md").read_text()
    out = tmp_path / "gx"
    assert main(["data", "build", "--task", str(tiny), "--source", "guitarset-excerpts", "--out", str(out),
                 "--clips-per-recording", "2", "--quiet"]) == 0
    capsys.readouterr()
    owners = _owners(out, "tiny_bitcrush")
    assert all(len(s) == 1 for s in owners.values())
    player_split = {"03": "train", "04": "validation", "05": "test"}
    assert {rid: s.pop() for rid, s in owners.items()} == {rid: player_split[rid[:2]] for rid in owners}
    manifest = json.loads((out / "fxbench.json").read_text())
    assert manifest["clip_policy"]["clips_per_recording"] == 2 and manifest["source"]["name"] == "guitarset-excerpts"
    assert {s: manifest["splits"][s]["clips"] for s in manifest["splits"]} == {"train": 6, "validation": 1, "test": 1}
    assert all("sha256" in f for f in manifest["source"]["files"])  # the audio is hashed, not its location
    card = (out / "README.md").read_text()
    assert _card_licence(out) == "cc-by-4.0"
    assert "GuitarSet: A Dataset for Guitar Transcription" in card and "at most 2 clips per recording" in card


def test_excerpts_are_package_data() -> None:
    """`pip install .` (not only -e) ships what pyproject's package-data names: every excerpt and its credit."""
    from fxbench.sources.guitarset_excerpts import DATA

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "fxbench.sources.data" in config["tool"]["setuptools"]["packages"]
    patterns = config["tool"]["setuptools"]["package-data"]["fxbench.sources.data"]
    package = DATA.parent
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert shipped == {*DATA.rglob("*.flac"), DATA / "README.md"}


@needs_di
def test_di_folder_builds_by_recording_with_licence_other(tiny: Path, tmp_path: Path, capsys) -> None:
    folder = _di_folder(tmp_path / "di", DI_FILES)
    out = tmp_path / "ds"
    assert main(["data", "build", "--task", str(tiny), "--source", f"folder:{folder}", "--out", str(out),
                 "--clips-per-recording", "2", "--quiet"]) == 0
    capsys.readouterr()
    owners = _owners(out, "tiny_bitcrush")
    assert set(owners) <= set(DI_FILES) and all(len(s) == 1 for s in owners.values())
    assert {next(iter(s)) for s in owners.values()} == {"train", "validation", "test"}
    assert _card_licence(out) == "other"
    assert "at most 2 clips per recording" in (out / "README.md").read_text()


@needs_di
def test_too_small_folder_says_what_each_split_got(tiny: Path, tmp_path: Path, capsys) -> None:
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task(str(tiny))
    folder = _di_folder(tmp_path / "di", DI_FILES[:3])
    manifest = build_dataset(task, open_source(f"folder:{folder}", task, 0, 1), 0, tmp_path / "ds", progress=True)
    assert {s: v["clips"] for s, v in manifest["splits"].items()} == {"train": 1, "validation": 1, "test": 1}
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("fxbench: note:")]
    assert len(notes) == 1
    assert "train 1/6, validation 1/1, test 1/1 clips" in notes[0]
    assert "--clips-per-recording (now 1)" in notes[0] and "add recordings" in notes[0]
    assert "3/3" in err and "3/8" not in err  # the bar ends at what was built, not at the budget


@needs_di
def test_empty_split_is_an_error_naming_it(tiny: Path, tmp_path: Path, capsys) -> None:
    from fxbench.dataset.clips import assign_splits
    from fxbench.task import load_task

    task = load_task(str(tiny))
    names = ["a.flac", "b.flac", "c.flac"]
    split_of = assign_splits(names, task.splits, 0)
    folder = tmp_path / "rec"
    folder.mkdir()
    for name, real in zip([n for n in names if split_of[n] != "test"], DI_FILES):
        (folder / name).symlink_to(DI / real)
    silent = next(n for n in names if split_of[n] == "test")
    with AudioFile(str(folder / silent), "w", 44100, 1, bit_depth=16) as f:
        f.write(np.zeros((1, 5 * 44100), np.float32))  # long enough to keep, but every clip is silent
    assert main(["data", "build", "--task", str(tiny), "--source", f"folder:{folder}", "--out",
                 str(tmp_path / "ds"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "split 'test' got no clips" in err and "add recordings or raise --clips-per-recording" in err
    assert not (tmp_path / "ds").exists()


def test_split_without_recordings_fails_before_rendering(tiny: Path, tmp_path: Path, capsys) -> None:
    from fxbench.sources.guitarset_excerpts import DATA

    audio = tmp_path / "gs" / "audio_mono-mic"
    audio.mkdir(parents=True)
    for flac in sorted((DATA / "audio_mono-mic").glob("0[34]_*.flac")):  # no player 05: no test split
        (audio / flac.name).symlink_to(flac)
    assert main(["data", "build", "--task", str(tiny), "--source", f"guitarset:{tmp_path / 'gs'}", "--out",
                 str(tmp_path / "ds"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "split 'test'" in err and "players 05" in err
    assert not (tmp_path / "ds").exists()
