"""Never lose data, and verify what is read: what a build may replace, SIGTERM, two builders of one cache
entry, shard checksums on read, the `datasets` cache, Hub revisions, and a full disk."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fxbench.cli import main
from fxbench.errors import FxbenchError

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    """This checkout's fxbench, and the session's private cache and task folder, for a child process."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "FXBENCH_WORKERS": "1"}


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _copy(dataset: Path, dst: Path) -> Path:
    shutil.copytree(dataset, dst, symlinks=True)
    return dst


def _manifest(path: Path) -> dict:
    return json.loads((path / "fxbench.json").read_text())


def _test_shards(path: Path) -> list[str]:
    return sorted(rel for rel in _manifest(path)["files"]
                  if rel.split("/")[0] == "small_bitcrush" and Path(rel).name.startswith("test"))


def _set_labels(shard: Path, value: float) -> None:
    """Every row's scaled label set to ``value``: the tampered copy of issue #18."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(shard)
    i = table.schema.get_field_index("bit_depth_scaled")
    field = table.schema.field(i)
    pq.write_table(table.set_column(i, field, pa.array([value] * table.num_rows, type=field.type)), shard)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# 1. a build replaces only an fxbench dataset


def test_build_refuses_a_folder_that_is_not_a_dataset(task_dir, tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("four years of work")
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(thesis), "--quiet"]) == 2
    line = _err_line(capsys)
    assert str(thesis) in line and "--overwrite" in line and "not an fxbench dataset" in line
    assert (thesis / "thesis.tex").read_text() == "four years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"], "nothing may be rendered before refusing"

    file = tmp_path / "notes.txt"
    file.write_text("x")
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(file), "--quiet", "--overwrite"]) == 2
    assert "is a file" in _err_line(capsys) and file.read_text() == "x"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(empty), "--quiet"]) == 0
    assert (empty / "fxbench.json").is_file()
    capsys.readouterr()
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(thesis), "--quiet", "--overwrite"]) == 0
    assert (thesis / "fxbench.json").is_file() and not (thesis / "thesis.tex").exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_build_never_replaces_its_source_folder(task_dir, tmp_path, capsys, overwrite):
    audio = tmp_path / "takes" / "di"
    audio.mkdir(parents=True)
    (audio / "take.wav").write_bytes(b"RIFF my only recording")
    for out in (audio, audio.parent):
        argv = ["data", "build", "--task", "small_bitcrush", "--source", f"folder:{audio}", "--out", str(out),
                "--quiet"] + (["--overwrite"] if overwrite else [])
        assert main(argv) == 2
        assert "source folder" in _err_line(capsys)
        assert (audio / "take.wav").read_bytes() == b"RIFF my only recording"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["takes"]


# 2. SIGTERM during a build, and what a killed build left behind

BIG = """\
task: big_bitcrush
version: 1
description: Enough clips that the build is still rendering when it is terminated.
effect: {plugin: Bitcrush, fixed: {}}
parameters:
  - {name: bit_depth, unit: bits, grid: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
     range: [0, 16], bypass: 16}
dataset: {clips: 400, clips_per_recording: 1}
"""


def _descendants(pid: int) -> dict[int, str]:
    """Live (not zombie) descendants of ``pid``, as {pid: start time}, read from /proc."""
    parent, start = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parent[int(entry)], start[int(entry)] = int(fields[1]), fields[19]
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found[child] = start[child]
                todo.append(child)
    return found


def _alive(procs: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in procs.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and fields[19] == start:
            alive.append(pid)
    return alive


def _wait_for(check, what: str, proc: subprocess.Popen, err: Path, limit: float = 300.0) -> None:
    import time

    deadline = time.monotonic() + limit
    while not check():
        assert proc.poll() is None, f"the build ended before {what}: {err.read_text()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_sigterm_removes_the_partial_folder_and_stops_the_workers(tmp_path):
    import time

    task = tmp_path / "big_bitcrush.yaml"
    task.write_text(BIG)
    parent = tmp_path / "data"
    parent.mkdir()
    err = tmp_path / "stderr.txt"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "fxbench", "data", "build", "--task", str(task),
                                 "--out", str(parent / "ds"), "--workers", "2", "--quiet"], env=_env(), cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            _wait_for(lambda: any((p / ".work").is_dir() for p in parent.glob(".ds.partial-*")),
                      "the workers writing shards", proc, err)
            _wait_for(lambda: len(_descendants(proc.pid)) >= 3, "the fork server and both workers", proc, err)
            children = _descendants(proc.pid)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rc == 143
    lines = err.read_text().strip().splitlines()
    assert len(lines) == 1 and "terminated" in lines[0], lines
    assert list(parent.iterdir()) == [], "the partial folder was left behind"
    deadline = time.monotonic() + 60
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(children) == [], "worker processes outlived the build"


def test_a_build_removes_what_killed_builds_left(small_task, tmp_path):
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source

    dead, live = _dead_pid(), os.getppid()
    stale = [tmp_path / f".ds.partial-{dead}-0123abcd", tmp_path / f".other.old-{dead}-89abcdef"]
    kept = [tmp_path / f".ds.partial-{live}-fedcba98", tmp_path / f".ds.partial-{dead}-notours", tmp_path / "mine"]
    for d in stale + kept:
        d.mkdir()
        (d / "shard.parquet").write_bytes(b"x" * 1000)
    build_dataset(small_task, open_source("synth", small_task, 0), 0, tmp_path / "ds", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ds"] + [d.name for d in kept])


# 3. two processes wanting the same cache entry

_ENSURE = """
import sys
from fxbench.dataset.cache import ensure_dataset
from fxbench.sources import open_source
from fxbench.task import load_task

task = load_task("small_bitcrush")
_, manifest, built = ensure_dataset(task, open_source("synth", task, 0), 0, sys.argv[1], progress=False)
print("built" if built is not None else "reused", manifest["fingerprint"])
"""


def test_two_processes_building_one_entry_build_it_once(small_task, tmp_path):
    from filelock import FileLock

    from fxbench.dataset.build import fingerprint
    from fxbench.sources import open_source

    fp = fingerprint(small_task, open_source("synth", small_task, 0), 0)
    entry = tmp_path / "cache" / "datasets" / f"small_bitcrush-synth-{fp[:12]}"
    entry.parent.mkdir(parents=True)
    procs, errs = [], [tmp_path / f"err{i}.txt" for i in range(2)]
    with FileLock(f"{entry}.lock"):  # both start while the entry is "being built": both must wait
        for err in errs:
            with open(err, "w") as f:
                procs.append(subprocess.Popen([sys.executable, "-c", _ENSURE, str(tmp_path / "cache")], env=_env(),
                                              stdout=subprocess.PIPE, stderr=f, text=True))
        for proc, err in zip(procs, errs):
            _wait_for(lambda: "waiting for another process building" in err.read_text(), "the wait line", proc, err)
    outs = [proc.communicate(timeout=300)[0].split() for proc in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.read_text() for e in errs]
    assert sorted(o[0] for o in outs) == ["built", "reused"] and outs[0][1] == outs[1][1] == fp
    assert {entry.name} <= {p.name for p in entry.parent.iterdir()} <= {entry.name, f"{entry.name}.lock"}


# 4. shards checked against the manifest on every read


def test_a_changed_shard_is_refused_everywhere(small_dataset, small_task, tmp_path, capsys):
    from fxbench.dataset.cache import read_manifest, resolve_dataset
    from fxbench.dataset.load import load_splits

    copy = _copy(small_dataset, tmp_path / "copy")
    rel = _test_shards(copy)[0]
    _set_labels(copy / rel, 0.5)
    for read in (lambda: read_manifest(copy), lambda: load_splits(copy, small_task),
                 lambda: resolve_dataset(small_task, data=str(copy), progress=False)):
        with pytest.raises(FxbenchError, match="does not match the sha256") as info:
            read()
        assert rel in str(info.value) and info.value.exit_code == 2
    out = tmp_path / "rec.json"
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", str(copy), "--output", str(out),
                 "--quiet"]) == 2
    line = _err_line(capsys)
    assert rel in line and "fxbench data verify" in line and not out.exists()


def test_a_changed_cache_entry_is_rebuilt_not_served(small_task, tmp_path, capsys):
    from fxbench.dataset.cache import ensure_dataset
    from fxbench.sources import open_source

    src = open_source("synth", small_task, 0)
    path, manifest, _ = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    _set_labels(path / _test_shards(path)[0], 0.5)
    capsys.readouterr()
    again, rebuilt, built = ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)
    assert again == path and built is not None and rebuilt["files"] == manifest["files"]
    assert "rebuilding the cached dataset" in _err_line(capsys)
    assert ensure_dataset(small_task, src, 0, str(tmp_path), progress=False)[2] is None


def test_an_unchanged_folder_is_read_again_without_hashing(small_dataset, tmp_path, monkeypatch):
    import fxbench.dataset.integrity as integrity
    from fxbench.dataset.cache import read_manifest

    copy = _copy(small_dataset, tmp_path / "copy")
    assert read_manifest(copy) is not None  # hashed once (a fresh copy: new files)

    def no_hashing(path):
        raise AssertionError(f"hashed {path} again")

    monkeypatch.setattr(integrity, "sha256_file", no_hashing)
    assert read_manifest(copy) == _manifest(copy)
    shard = copy / _test_shards(copy)[0]
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 1))
    with pytest.raises(AssertionError, match="hashed"):
        read_manifest(copy)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_a_manifest_naming_paths_outside_its_folder_is_refused(small_dataset, small_task, tmp_path, kind):
    from fxbench.checksums import sha256_file
    from fxbench.dataset.cache import read_manifest, resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.dataset.verify import verify_dataset

    copy = _copy(small_dataset, tmp_path / "copy")
    outside = tmp_path / "outside.parquet"
    shutil.copy(copy / _test_shards(copy)[0], outside)
    rel = {"dotdot": "../outside.parquet", "absolute": str(outside),
           "symlink": "small_bitcrush/test-link.parquet"}[kind]
    if kind == "symlink":
        (copy / rel).symlink_to(outside)
    manifest = _manifest(copy)
    manifest["files"][rel] = sha256_file(outside)
    (copy / "fxbench.json").write_text(json.dumps(manifest))
    for read in (lambda: read_manifest(copy), lambda: load_splits(copy, small_task),
                 lambda: resolve_dataset(small_task, data=str(copy), progress=False)):
        with pytest.raises(FxbenchError, match="outside the dataset folder") as info:
            read()
        assert info.value.exit_code == 2
    assert any("outside the folder" in p and rel in p for p in verify_dataset(copy))


def test_a_card_pointing_at_a_file_the_manifest_does_not_list_is_refused(small_dataset, small_task, tmp_path):
    """`datasets` reads what the card names: a shard slipped in there would be read unchecked."""
    import yaml

    from fxbench.dataset.load import load_splits

    copy = _copy(small_dataset, tmp_path / "copy")
    rel = _test_shards(copy)[0]
    extra = f"small_bitcrush/extra-{Path(rel).name}"
    shutil.copy(copy / rel, copy / extra)
    _set_labels(copy / extra, 0.5)
    _, header, body = (copy / "README.md").read_text().split("---\n", 2)
    card = yaml.safe_load(header)
    for config in card["configs"]:
        for entry in config["data_files"]:
            if config["config_name"] == "small_bitcrush" and entry["split"] == "test":
                entry["path"] = [*entry["path"], extra]
    for info in card["dataset_info"]:  # the row counts too, or `datasets` itself would notice
        for split in info["splits"] if info["config_name"] == "small_bitcrush" else []:
            split["num_examples"] *= 2 if split["name"] == "test" else 1
    (copy / "README.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n" + body)
    with pytest.raises(FxbenchError, match="which its fxbench.json does not list") as info:
        load_splits(copy, small_task)
    assert extra in str(info.value) and info.value.exit_code == 2


def _edit_card(folder: Path, change) -> None:
    import yaml

    _, header, body = (folder / "README.md").read_text().split("---\n", 2)
    card = yaml.safe_load(header)
    change(card)
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n" + body)


def _small_config(card: dict) -> dict:
    return next(c for c in card["configs"] if c["config_name"] == "small_bitcrush")


@pytest.mark.parametrize("change, needle", [
    (lambda card: _small_config(card).update(data_dir="small_bitcrush"), "gives a data_dir"),
    (lambda card: _small_config(card).pop("data_files"), "lists no data_files"),
    (lambda card: card.pop("configs"), "lists no configs")])
def test_a_card_leaving_datasets_to_find_the_files_is_refused(small_dataset, small_task, tmp_path, change, needle):
    """A data_dir, or no data_files, and `datasets` discovers shards itself, an unlisted one among them."""
    from fxbench.dataset.load import load_splits
    from fxbench.dataset.verify import verify_dataset

    copy = _copy(small_dataset, tmp_path / "copy")
    extra = copy / "small_bitcrush" / "test-extra.parquet"
    shutil.copy(copy / _test_shards(copy)[0], extra)
    _set_labels(extra, 0.5)
    _edit_card(copy, change)
    with pytest.raises(FxbenchError, match=needle) as info:
        load_splits(copy, small_task)
    assert info.value.exit_code == 2
    problems = verify_dataset(copy)
    assert any(needle in p for p in problems) and "extra shard small_bitcrush/test-extra.parquet (not in the manifest)" \
        in problems


def test_verify_names_every_unlisted_file_and_a_bad_card(small_dataset, tmp_path):
    from fxbench.dataset.verify import verify_dataset

    copy = _copy(small_dataset, tmp_path / "copy")
    assert verify_dataset(copy) == []
    (copy / "small_bitcrush" / "notes.txt").write_text("x")
    (copy / "small_bitcrush" / "rows.arrow").write_bytes(b"x")

    def name_unlisted(card: dict) -> None:
        for entry in _small_config(card)["data_files"]:
            entry["path"] = [*entry["path"], "small_bitcrush/rows.arrow"] if entry["split"] == "test" else entry["path"]

    _edit_card(copy, name_unlisted)
    problems = verify_dataset(copy)
    assert "extra file small_bitcrush/notes.txt (not in the manifest)" in problems
    assert "extra file small_bitcrush/rows.arrow (not in the manifest)" in problems
    assert any("names 'small_bitcrush/rows.arrow', which its fxbench.json does not list" in p for p in problems)
    assert len(problems) == 3  # the card and the manifest are not extra files


# 5. the `datasets` cache keyed by the manifest's content


def test_two_folders_alike_in_names_load_their_own_data(small_dataset, small_task, tmp_path):
    from fxbench.checksums import sha256_file
    from fxbench.dataset.load import load_splits

    a = _copy(small_dataset, tmp_path / "a" / "ds")
    b = _copy(small_dataset, tmp_path / "b" / "ds")
    first = load_splits(a, small_task)["test"].y
    assert not (first == 0.5).all()
    manifest = _manifest(b)
    for rel in _test_shards(b):  # same folder name, same shard names, other labels, a manifest that says so
        _set_labels(b / rel, 0.5)
        manifest["files"][rel] = sha256_file(b / rel)
    (b / "fxbench.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert (load_splits(b, small_task)["test"].y == 0.5).all()
    assert (load_splits(a, small_task)["test"].y == first).all()


def test_a_rebuild_of_the_same_data_reuses_the_datasets_cache(small_dataset, small_task, tmp_path):
    """Only the build's time differs: same fingerprint, same shards, so no second arrow copy."""
    from fxbench.dataset.cache import cache_root
    from fxbench.dataset.load import content_key, load_splits

    copy = _copy(small_dataset, tmp_path / "copy")
    first = load_splits(copy, small_task)["test"].y
    key = content_key(copy)
    before = sorted((cache_root() / "hf-datasets").iterdir())
    manifest = _manifest(copy)
    manifest.update(created_at="2099-01-01T00:00:00+00:00", build_seconds=manifest["build_seconds"] + 1)
    (copy / "fxbench.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert content_key(copy) == key
    assert (load_splits(copy, small_task)["test"].y == first).all()
    assert sorted((cache_root() / "hf-datasets").iterdir()) == before


# 6. Hub datasets pinned to a revision


@pytest.mark.parametrize("spec, want", [("org/name", ("org/name", None)), ("org/name@v1.0", ("org/name", "v1.0")),
                                        ("o-1/n_2.x@" + "a" * 40, ("o-1/n_2.x", "a" * 40))])
def test_hub_spec_takes_a_revision(spec, want):
    from fxbench.dataset.hub import parse_hub_spec

    assert parse_hub_spec(spec) == want


@pytest.mark.parametrize("spec", ["org/name@", "a/b/c", "org/", "/org/name", "org/../x", "name"])
def test_a_bad_hub_spec_is_one_clear_error(spec, task_dir, capsys):
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", spec]) == 2
    assert "ORG/NAME@REV" in _err_line(capsys)


def test_hub_download_asks_for_the_manifest_s_files_only(small_dataset):
    from fxbench.dataset.hub import hub_patterns

    manifest = _manifest(small_dataset)
    assert hub_patterns(manifest, "org/name") == ["fxbench.json", "README.md", *sorted(manifest["files"])]
    for bad in ("../../x.parquet", "/etc/x.parquet", "small_bitcrush/*.parquet", "a//b.parquet"):
        with pytest.raises(FxbenchError, match="not a plain path inside the dataset folder") as info:
            hub_patterns({"files": {**manifest["files"], bad: "0" * 64}}, "org/name")
        assert info.value.exit_code == 2


def test_publishing_uploads_the_manifest_s_files_only(small_dataset, tmp_path):
    """upload_folder filters the folder with huggingface_hub's own filter_repo_objects: run it on a folder
    holding a stray file to see what would go up."""
    from huggingface_hub.utils import filter_repo_objects

    from fxbench.dataset.hub import publish_patterns

    copy = _copy(small_dataset, tmp_path / "copy")
    (copy / "secret.answers.json").write_text("{}")
    (copy / "small_bitcrush" / "stray.parquet").write_bytes(b"x")
    everything = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    sent = list(filter_repo_objects(everything, allow_patterns=publish_patterns(copy)))
    assert sorted(sent) == sorted(["fxbench.json", "README.md", *_manifest(copy)["files"]])


def test_a_hub_dataset_is_read_at_one_commit_and_recorded(small_dataset, small_task, small_splits, tmp_path,
                                                          monkeypatch, capsys):
    """Offline, from a Hugging Face cache laid out as snapshot_download leaves it."""
    import huggingface_hub.constants

    from fxbench.dataset import hub

    from fxbench.checksums import sha256_file

    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "datasets--fxbench-test--tiny"
    (repo / "blobs").mkdir(parents=True)
    for f in sorted(p for p in small_dataset.rglob("*") if p.is_file()):  # each file a link to its blob
        blob = repo / "blobs" / sha256_file(f)
        shutil.copy(f, blob)
        link = repo / "snapshots" / sha / f.relative_to(small_dataset)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    hub._download.cache_clear()
    for spec in ("fxbench-test/tiny", f"fxbench-test/tiny@{sha}", "fxbench-test/tiny@main"):
        got = hub.resolve_data(spec)
        assert got.revision == sha and got.path == repo / "snapshots" / sha
    out = tmp_path / "rec.json"
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", "fxbench-test/tiny",
                 "--output", str(out), "--quiet"]) == 0
    record = json.loads(out.read_text())
    assert record["data_revision"] == sha and "data_revision" not in record["environment"]
    from fxbench.scoring import write_predictions

    test = small_splits["test"]
    preds = write_predictions(tmp_path / "preds.csv", small_task, test.ids, test.y * 0 + 0.5)
    scored = tmp_path / "scored.json"
    assert main(["score", "--task", "small_bitcrush", "--predictions", str(preds), "--data",
                 f"fxbench-test/tiny@{sha}", "--output", str(scored), "--quiet"]) == 0
    assert json.loads(scored.read_text())["data_revision"] == sha
    capsys.readouterr()
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", "fxbench-test/tiny@v9",
                 "--output", str(tmp_path / "rec2.json"), "--quiet"]) == 2
    assert "at v9" in _err_line(capsys)
    hub._download.cache_clear()


def test_a_local_folder_has_no_revision(small_dataset):
    from fxbench.dataset.hub import resolve_data

    assert resolve_data(str(small_dataset)).revision is None


# 7. a full disk


def test_a_full_disk_during_a_build_is_one_line(task_dir, tmp_path, monkeypatch, capsys):
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "fxbench.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    out = tmp_path / "ds"
    assert main(["data", "build", "--task", "small_bitcrush", "--out", str(out), "--quiet"]) == 1
    line = _err_line(capsys)
    assert line == f"fxbench: no space left on device writing {out}; free space or use --data-dir"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_writing_a_record_is_one_line(small_dataset, task_dir, tmp_path, monkeypatch, capsys):
    real = os.replace
    out = tmp_path / "records" / "rec.json"

    def full(src, dst, *args, **kwargs):
        if Path(dst) == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full)
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", str(small_dataset),
                 "--output", str(out), "--quiet"]) == 1
    assert _err_line(capsys) == f"fxbench: no space left on device writing {out}; free space or use --data-dir"
    assert list(out.parent.iterdir()) == []
