"""Build a task's dataset folder: parquet shards per split plus a dataset card.

The folder is written under a temporary name and renamed into place only when
complete, with ``fxbench.json`` (the manifest) written last: a crash or Ctrl-C
leaves the previous complete dataset or none, never a half one.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import fxbench
from fxbench.checksums import sha256_file, sha256_json
from fxbench.dataset.clips import SPLITS, ClipPolicy, assign_splits
from fxbench.errors import FxbenchError
from fxbench.progress import progress_bar
from fxbench.sources.base import Source
from fxbench.task import TaskConfig

FORMAT_VERSION = 2  # 2: splits assigned per recording in seeded blocks (the same across tasks)
MANIFEST = "fxbench.json"
DRY_CONFIG = "dry"


def fingerprint(task: TaskConfig, source: Source, seed: int) -> str:
    """Hash of everything that determines the data: task definition, source, seed, clip policy, format."""
    blob = {"format": FORMAT_VERSION, "task": task.to_dict(), "source": source.spec(), "seed": seed,
            "clips": ClipPolicy.for_task(task).to_dict()}
    return sha256_json(blob)


def fingerprint_ok(manifest: dict) -> bool:
    """Whether a manifest's fingerprint is the hash of the inputs it records (catches hand edits)."""
    blob = {"format": manifest.get("format_version"), "task": manifest.get("task_definition"),
            "source": manifest.get("source"), "seed": manifest.get("seed"), "clips": manifest.get("clip_policy")}
    return manifest.get("task_definition") is None or sha256_json(blob) == manifest.get("fingerprint")


def _features(task: TaskConfig):
    import datasets as hf

    shape = (task.features.n_mels, task.n_frames)
    cols = {"id": hf.Value("string"), "split": hf.Value("string"), "recording_id": hf.Value("string"),
            "clip_id": hf.Value("string"), "grid_index": hf.Value("int32")}
    for p in task.parameters:
        cols[p.name] = hf.Value("float32")
        cols[f"{p.name}_scaled"] = hf.Value("float32")
    cols["mel"] = hf.Array2D(shape, "float16")
    cols["audio"] = hf.List(hf.Value("int16"))
    task_features = hf.Features(cols)
    dry_features = hf.Features({"clip_id": hf.Value("string"), "split": hf.Value("string"),
                                "recording_id": hf.Value("string"),
                                "clip_index": hf.Value("int32"), "start_sample": hf.Value("int64"),
                                "mel": hf.Array2D(shape, "float16"), "audio": hf.List(hf.Value("int16")),
                                "meta": hf.Value("string")})
    return task_features, dry_features


def _list_array(values: np.ndarray):
    """(rows, ...) numpy -> nested arrow lists without a Python loop."""
    import pyarrow as pa

    arr = pa.array(values.reshape(-1))
    for size in reversed(values.shape[1:]):
        n = arr.__len__() // size
        arr = pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * size, size, dtype=np.int32)), arr)
    return arr


def _table(schema, columns: dict[str, Any]):
    import pyarrow as pa

    arrays = []
    for field in schema:
        value = columns[field.name]
        if isinstance(field.type, pa.ExtensionType):
            arrays.append(pa.ExtensionArray.from_storage(field.type, _list_array(value)))
        elif isinstance(value, np.ndarray) and value.ndim > 1:
            arrays.append(_list_array(value))
        else:
            arrays.append(pa.array(value, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class _ShardWriters:
    """One parquet file per (config, split), opened on first write.

    On close each file is renamed to ``<config>/<split>-<sha256[:16]>.parquet`` and the card lists
    those names: `datasets` keys its cache by the card's file names, so content-named shards mean
    a folder rebuilt in place with other data is never served from a stale cache.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writers: dict[tuple[str, str], Any] = {}

    def write(self, config: str, split: str, table) -> None:
        import pyarrow.parquet as pq

        key = (config, split)
        if key not in self.writers:
            (self.root / config).mkdir(parents=True, exist_ok=True)
            self.writers[key] = pq.ParquetWriter(self._partial(key), table.schema, compression="snappy")
        self.writers[key].write_table(table)

    def _partial(self, key: tuple[str, str]) -> Path:
        return self.root / key[0] / f"{key[1]}.parquet.partial"

    def close(self) -> dict[str, str]:
        """Close every file; return {relative path: sha256} of the content-named shards."""
        for w in self.writers.values():
            w.close()
        files = {}
        for key in sorted(self.writers):
            digest = sha256_file(self._partial(key))
            rel = f"{key[0]}/{key[1]}-{digest[:16]}.parquet"
            os.rename(self._partial(key), self.root / rel)
            files[rel] = digest
        return files


def build_dataset(task: TaskConfig, source: Source, seed: int, out_dir: Path, progress: bool = True,
                  workers: int | None = None) -> dict:
    """Render ``task`` from ``source`` into ``out_dir`` (replaced atomically); return the manifest.

    ``workers`` processes render and featurise recordings in parallel (None: $FXBENCH_WORKERS, else every
    core for a build of 64 clips or more); the output is the same, byte for byte, for any number."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        manifest = _build_into(task, source, seed, tmp, progress, workers)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _swap_in(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out_dir)


def split_budget(task: TaskConfig) -> dict[str, int]:
    """Clips per split: the task's split fractions of ``dataset.clips``, so a large source fills every split."""
    n = task.dataset.clips
    test = max(1, round(n * task.splits.test))
    validation = max(1, round(n * task.splits.validation))
    return {"train": n - test - validation, "validation": validation, "test": test}


def _build_into(task: TaskConfig, source: Source, seed: int, root: Path, progress: bool,
                workers: int | None) -> dict:
    from fxbench.dataset.card import write_card
    from fxbench.dataset.workers import ClipMaker

    started = time.perf_counter()
    policy = ClipPolicy.for_task(task)
    rec_ids = source.recording_ids()
    skipped = getattr(source, "warnings", [])
    for line in skipped:
        print(f"fxbench: warning: {line}", file=sys.stderr)
    if skipped:
        print(f"fxbench: warning: {len(skipped)} file(s) left out of the build; {len(rec_ids)} recordings kept",
              file=sys.stderr)
    if len(rec_ids) < 3:
        raise FxbenchError(f"source {source.name} has {len(rec_ids)} recordings; at least 3 are needed "
                           f"for train/validation/test splits")
    fixed = getattr(source, "fixed_splits", None)
    split_of = fixed() if callable(fixed) else assign_splits(rec_ids, task.splits, seed,
                                                             key=getattr(source, "split_key", None))
    budget = split_budget(task)
    task_features, dry_features = _features(task)
    task_schema, dry_schema = task_features.arrow_schema, dry_features.arrow_schema
    points = task.grid_points()
    g = len(points)
    constant = {p.name: np.array([pt[p.name] for pt in points], dtype=np.float32) for p in task.parameters}

    root.mkdir(parents=True)
    writers = _ShardWriters(root)
    files: dict[str, str] = {}
    stats = {s: {"rows": 0, "clips": 0, "recordings": 0} for s in SPLITS}
    n_clips = 0

    def wanted(rid: str) -> bool:
        split = split_of.get(rid)
        return split is not None and stats[split]["clips"] < budget[split]

    try:
        with progress_bar(f"build {task.task}", total=task.dataset.clips, enabled=progress) as advance, \
                ClipMaker.pool(task, source, workers) as process:
            for rid, rec_meta, made in process(sorted(rec_ids), wanted):
                if n_clips >= task.dataset.clips:
                    break
                if not wanted(rid):
                    continue
                split = split_of[rid]
                took = 0
                for clip, renders, mel, dry_mel in made:
                    if stats[split]["clips"] >= budget[split]:
                        break
                    cols: dict[str, Any] = {
                        "id": [f"{clip.clip_id}-g{i:03d}" for i in range(g)], "split": [split] * g,
                        "recording_id": [rid] * g, "clip_id": [clip.clip_id] * g,
                        "grid_index": np.arange(g, dtype=np.int32), "mel": mel, "audio": renders}
                    for p in task.parameters:
                        cols[p.name] = constant[p.name]
                        cols[f"{p.name}_scaled"] = p.scale(constant[p.name]).astype(np.float32)
                    writers.write(task.task, split, _table(task_schema, cols))
                    writers.write(DRY_CONFIG, split, _table(dry_schema, {
                        "clip_id": [clip.clip_id], "split": [split], "recording_id": [rid],
                        "clip_index": [clip.index],
                        "start_sample": [clip.start], "mel": dry_mel[None], "audio": clip.pcm[None],
                        "meta": [json.dumps(rec_meta, sort_keys=True, default=str)]}))
                    stats[split]["rows"] += g
                    stats[split]["clips"] += 1
                    took += 1
                    n_clips += 1
                    advance(1, info=f"{n_clips * g} rows")
                if took:
                    stats[split]["recordings"] += 1
    finally:
        files = writers.close()
    empty = [s for s in SPLITS if stats[s]["rows"] == 0]
    if empty:
        raise FxbenchError(f"split {empty[0]!r} got no clips (the source gave {n_clips} usable clips in all); "
                           f"use a source with more non-silent audio")
    manifest = {
        "fxbench_version": fxbench.__version__, "format_version": FORMAT_VERSION,
        "fingerprint": fingerprint(task, source, seed),
        "task": task.task, "task_version": task.version, "task_digest": task.digest(),
        "task_definition": task.to_dict(), "source": source.spec(), "seed": seed, "clip_policy": policy.to_dict(),
        "grid_size": len(points), "splits": stats, "files": files,
        "build_seconds": round(time.perf_counter() - started, 3),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    manifest = json.loads(json.dumps(manifest))  # exactly what a reader of fxbench.json gets (lists, not tuples)
    write_card(root, task, manifest)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
