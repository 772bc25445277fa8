"""Records that can't be forged into the canonical group: each record stores the digest of the files it was
scored on, the leaderboard keeps the canonical datasets' digests beside the results folder, and a copy whose
labels were edited and whose checksums were rewritten never ranks, though its fingerprint is canonical."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fxbench.checksums import sha256_file, task_files_digest
from fxbench.cli import main
from fxbench.errors import FxbenchError
from fxbench.leaderboard import load_records
from fxbench.leaderboard.canonical import DATASETS_FILE, FORMAT, find_digests, read_digests, write_digests
from fxbench.results import upgrade_record


def _forge(dataset: Path, to: Path) -> Path:
    """A copy of ``dataset`` with every test label moved one grid step, its checksums rewritten to match."""
    shutil.copytree(dataset, to)
    manifest = json.loads((to / "fxbench.json").read_text())
    edited = 0
    for rel in list(manifest["files"]):
        if not (rel.startswith("small_bitcrush/") and "/test-" in rel):
            continue
        table = pq.read_table(to / rel)
        column = table.column_names.index("bit_depth")
        labels = [min(16, v + 1) if v < 16 else 0 for v in table.column("bit_depth").to_pylist()]
        field = table.schema.field(column)
        edited_column = pa.array(labels).cast(field.type)
        pq.write_table(table.set_column(column, field, edited_column).replace_schema_metadata(table.schema.metadata),
                       to / rel)
        manifest["files"][rel] = sha256_file(to / rel)
        edited += 1
    assert edited, "no test shard to edit"
    (to / "fxbench.json").write_text(json.dumps(manifest))
    return to


def _run(data: Path, out: Path) -> dict:
    assert main(["run", "--task", "small_bitcrush", "--model", "mean", "--data", str(data), "--quiet",
                 "--output", str(out)]) == 0
    return json.loads(out.read_text())


def test_an_edited_copy_with_rewritten_checksums_never_ranks(small_dataset, tmp_path):
    results = tmp_path / "board" / "results"
    honest = _run(small_dataset, results / "small_bitcrush" / "honest.json")
    forged = _run(_forge(small_dataset, tmp_path / "forged"), results / "small_bitcrush" / "forged.json")
    assert forged["dataset_fingerprint"] == honest["dataset_fingerprint"]  # the fingerprint can't tell them apart
    assert forged["dataset_files_digest"] != honest["dataset_files_digest"]

    canonical = json.loads((small_dataset / "fxbench.json").read_text())
    assert honest["dataset_files_digest"] == task_files_digest(canonical["files"], "small_bitcrush")
    df = load_records(results)
    assert df["rankable"].all()  # no datasets.json beside the results: nothing to check against
    write_digests(results.parent / DATASETS_FILE, {"format": FORMAT, "datasets": {
        honest["dataset_fingerprint"]: {"task": "small_bitcrush", "source": "synth",
                                        "files_digest": honest["dataset_files_digest"]}}})
    df = load_records(results).set_index("path")
    by_name = {Path(p).name: row for p, row in df.iterrows()}
    assert by_name["honest.json"]["rankable"] and by_name["honest.json"]["group"] == 0
    assert not by_name["forged.json"]["rankable"] and by_name["forged.json"]["group"] != 0

    board = tmp_path / "board" / "LEADERBOARD.md"
    assert main(["leaderboard", "--results", str(results), "--output", str(board)]) == 0
    text = board.read_text()
    assert "scored on dataset files that differ from the canonical build in datasets.json" in text


def test_an_old_record_without_a_digest_is_listed_apart_until_rescored(small_dataset, tmp_path):
    results = tmp_path / "results"
    path = results / "small_bitcrush" / "mean.json"
    record = _run(small_dataset, path)
    old = {k: v for k, v in record.items() if k not in ("dataset_files_digest", "eval_dataset_files_digest")}
    path.write_text(json.dumps({**old, "schema_version": 5}))
    assert upgrade_record({**old, "schema_version": 5})["dataset_files_digest"] is None
    write_digests(tmp_path / DATASETS_FILE, {"format": FORMAT, "datasets": {
        record["dataset_fingerprint"]: {"task": "small_bitcrush", "source": "synth",
                                        "files_digest": record["dataset_files_digest"]}}})
    assert not load_records(results)["rankable"].any()
    assert main(["rescore", str(results), "--data", str(small_dataset)]) == 0
    again = json.loads(path.read_text())
    assert again["dataset_files_digest"] == record["dataset_files_digest"]
    assert load_records(results)["rankable"].all()


def test_the_datasets_file_is_validated_and_merged(tmp_path):
    path = tmp_path / DATASETS_FILE
    a, b = "a" * 64, "b" * 64
    write_digests(path, {"format": FORMAT, "datasets": {a: {"task": "one", "source": "synth", "files_digest": a}}})
    write_digests(path, {"format": FORMAT, "datasets": {b: {"task": "two", "source": "synth", "files_digest": b}}})
    assert read_digests(path) == {a: a, b: b}  # another task's entries are kept
    assert find_digests(tmp_path / "results") == {a: a, b: b}
    path.write_text(json.dumps({"format": FORMAT, "datasets": {a: {"task": "one", "files_digest": "x"}}}))
    with pytest.raises(FxbenchError, match="not a canonical datasets file.*--write-datasets"):
        find_digests(tmp_path / "results")
    before = path.read_text()
    with pytest.raises(FxbenchError):
        write_digests(path, {"format": FORMAT, "datasets": {}})
    assert path.read_text() == before  # a broken file is reported, never replaced
