"""Several tasks in one Hugging Face dataset repository: one config per task, the dry clips stored once.

Each task is built exactly as on its own (same fingerprint, byte-identical shards), then the folders are
merged: task shards move over as they are, and the `dry` configs are united by clip id. Splits are assigned
per recording, the same for every task (``assign_splits``), so a dry clip shared by two tasks sits in the
same split in both; a clash (another split, or other audio under one clip id) is an error, never a silent
pick. The merged folder appears atomically, like a single-task build.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import fxbench
from fxbench.checksums import sha256_file
from fxbench.dataset.audio import decode_audio
from fxbench.dataset.build import DRY_CONFIG, FORMAT_VERSION, MANIFEST, build_dataset
from fxbench.dataset.clips import SPLITS
from fxbench.dataset.shards import ShardFile
from fxbench.dataset.swap import check_out_dir, clean_leftovers, source_folders, swap_in, temp_dir
from fxbench.dataset.terminate import sigterm_as_interrupt
from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig


def task_manifest(manifest: dict, task: str) -> dict | None:
    """The per-task manifest inside a dataset folder's manifest (single- or multi-task), or None."""
    if "tasks" in manifest:
        return manifest["tasks"].get(task)
    return manifest if manifest.get("task") == task else None


def _merge_dry(parts: list[Path], root: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Union of the parts' dry shards per split, each clip once; {relative path: sha256}, clips per split."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files, counts = {}, {}
    (root / DRY_CONFIG).mkdir(parents=True, exist_ok=True)
    owner: dict[str, tuple[str, str]] = {}  # clip id -> (split, sha of its audio)
    for split in SPLITS:
        tables = []
        for part in parts:
            for shard in sorted((part / DRY_CONFIG).glob(f"{split}-*.parquet")):
                table = pq.read_table(shard)
                keep = []
                for i, (cid, cell) in enumerate(zip(table.column("clip_id").to_pylist(),
                                                    table.column("audio").to_pylist())):
                    digest = hashlib.sha256(decode_audio(cell).tobytes()).hexdigest()
                    if cid in owner:
                        if owner[cid] != (split, digest):
                            raise FxbenchError(f"clip {cid} differs between tasks (split or audio); build those "
                                               f"tasks into separate folders")
                        continue
                    owner[cid] = (split, digest)
                    keep.append(i)
                tables.append(table.take(pa.array(keep, type=pa.int64())))
        merged = pa.concat_tables(tables)
        merged = merged.take(pc.sort_indices(merged, sort_keys=[("clip_id", "ascending")]))
        tmp = root / DRY_CONFIG / f"{split}.parquet.partial"
        out = ShardFile(tmp, merged.schema)
        for start in range(merged.num_rows):
            out.write(merged.slice(start, 1))  # clip by clip, grouped as a single-task build groups them
        out.close()
        digest = sha256_file(tmp)
        rel = f"{DRY_CONFIG}/{split}-{digest[:16]}.parquet"
        os.rename(tmp, root / rel)
        files[rel], counts[split] = digest, merged.num_rows
    return files, counts


@sigterm_as_interrupt()
def build_tasks(tasks: list[TaskConfig], source_spec: str, seed: int, out_dir: Path,
                progress: bool = True, workers: int | None = None, clips_per_recording: int | None = None,
                overwrite: bool = False) -> dict:
    """Build every task of ``tasks`` from ``source_spec`` into one repository folder; return its manifest.
    ``clips_per_recording`` (None: each task's default for the source's kind) applies to every task;
    ``out_dir`` is replaced only as ``build_dataset`` replaces its own."""
    from fxbench.dataset.card import write_multi_card
    from fxbench.dataset.integrity import remember
    from fxbench.sources import open_source

    started = time.perf_counter()
    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite, source_folders(open_source(source_spec, tasks[0], seed, clips_per_recording)))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir.parent)
    tmp = temp_dir(out_dir)
    try:
        tmp.mkdir()
        per_task, parts, files = {}, [], {}
        for task in tasks:
            part = tmp / f".part-{task.task}"
            m = build_dataset(task, open_source(source_spec, task, seed, clips_per_recording), seed, part,
                              progress=progress, workers=workers)
            for rel, digest in m["files"].items():
                if rel.startswith(f"{task.task}/"):
                    (tmp / task.task).mkdir(exist_ok=True)
                    os.rename(part / rel, tmp / rel)
                    files[rel] = digest
            m["files"] = {rel: d for rel, d in m["files"].items() if rel.startswith(f"{task.task}/")}
            per_task[task.task] = m
            parts.append(part)
        dry_files, dry_clips = _merge_dry(parts, tmp)
        files.update(dry_files)
        for part in parts:
            shutil.rmtree(part)
        manifest = {
            "fxbench_version": fxbench.__version__, "format_version": FORMAT_VERSION, "seed": seed,
            "source": per_task[tasks[0].task]["source"]["name"], "tasks": per_task, "files": files,
            "dry_clips": dry_clips, "build_seconds": round(time.perf_counter() - started, 3),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_multi_card(tmp, tasks, manifest)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remember(out_dir, manifest["files"])
    return manifest
