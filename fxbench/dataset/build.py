"""Build a task's dataset folder: parquet shards per split plus a dataset card.

The folder is written under a temporary name and renamed into place only when
complete, with ``fxbench.json`` (the manifest) written last: a crash or Ctrl-C
leaves the previous complete dataset or none, never a half one.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

import fxbench
from fxbench.checksums import sha256_file, sha256_json
from fxbench.dataset.clips import SPLITS, ClipPolicy, assign_splits
from fxbench.dataset.shards import SHARD_CLIPS, ShardJob, ShardResult, truncate
from fxbench.dataset.terminate import sigterm_as_interrupt
from fxbench.errors import FxbenchError
from fxbench.progress import progress_bar
from fxbench.sources.base import Source
from fxbench.task import TaskConfig

# 2: splits assigned per recording in seeded blocks (the same across tasks)
# 3: audio as FLAC `datasets.Audio` features, opaque row ids (a keyed hash of clip and grid point)
FORMAT_VERSION = 3
MANIFEST = "fxbench.json"
DRY_CONFIG = "dry"


def fingerprint(task: TaskConfig, source: Source, seed: int) -> str:
    """Hash of everything that determines the data: task definition, source, seed, clip policy, format.
    The clips per recording come with the source (``open_source`` sets them), through the clip policy."""
    blob = {"format": FORMAT_VERSION, "task": task.to_dict(), "source": source.spec(), "seed": seed,
            "clips": ClipPolicy.for_task(task, source).to_dict()}
    if task.is_sampled:  # only sampled tasks draw settings, so only their data depends on how
        blob["draws"] = _draws_version()
    return sha256_json(blob)


def _draws_version() -> int:
    from fxbench.sampling import DRAWS_VERSION

    return DRAWS_VERSION


def fingerprint_ok(manifest: dict) -> bool:
    """Whether a manifest's fingerprint is the hash of the inputs it records (catches hand edits). A blind
    folder withholds its seed (it would rebuild the test labels), so there only what is left is checked: the
    task definition against its digest (the answer key's holder can check the fingerprint with the seed)."""
    if manifest.get("task_definition") is None:
        return True
    if manifest.get("blind") is True and manifest.get("seed") is None:
        fp = manifest.get("fingerprint")
        return (sha256_json(manifest["task_definition"]) == manifest.get("task_digest") and isinstance(fp, str)
                and re.fullmatch(r"[0-9a-f]{64}", fp) is not None)
    blob = {"format": manifest.get("format_version"), "task": manifest.get("task_definition"),
            "source": manifest.get("source"), "seed": manifest.get("seed"), "clips": manifest.get("clip_policy")}
    if "draws_version" in manifest:
        blob["draws"] = manifest["draws_version"]
    return sha256_json(blob) == manifest.get("fingerprint")


@sigterm_as_interrupt()
def build_dataset(task: TaskConfig, source: Source, seed: int, out_dir: Path, progress: bool = True,
                  workers: int | None = None, overwrite: bool = False) -> dict:
    """Render ``task`` from ``source`` into ``out_dir`` (replaced atomically); return the manifest.

    ``out_dir`` is replaced only when it is missing, empty or an fxbench dataset (``overwrite``: any folder
    but the source's own), checked before anything is rendered. ``workers`` processes render and featurise
    recordings in parallel (None: $FXBENCH_WORKERS, else every core for a build of at least
    ``workers.MIN_CLIPS_FOR_WORKERS`` clips); the output is the same, byte for byte, for any number."""
    from fxbench.dataset.integrity import remember
    from fxbench.dataset.swap import check_out_dir, clean_leftovers, source_folders, swap_in, temp_dir

    out_dir = Path(out_dir)
    check_out_dir(out_dir, overwrite, source_folders(source))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir.parent)
    tmp = temp_dir(out_dir)
    try:
        manifest = _build_into(task, source, seed, tmp, progress, workers)
        swap_in(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC and not exc.filename:
            exc.filename = str(out_dir)
        raise
    remember(out_dir, manifest["files"])
    return manifest


def split_budget(task: TaskConfig) -> dict[str, int]:
    """Clips per split: the task's split fractions of ``dataset.clips``, so a large source fills every split."""
    n = task.dataset.clips
    test = max(1, round(n * task.splits.test))
    validation = max(1, round(n * task.splits.validation))
    return {"train": n - test - validation, "validation": validation, "test": test}


def shortfall_line(stats: dict[str, dict], budget: dict[str, int], per_recording: int) -> str:
    """One line for a source too small for the task's budget: what each split got, and how to get more."""
    got = ", ".join(f"{s} {stats[s]['clips']}/{budget[s]}" for s in SPLITS)
    return (f"the source filled only part of the task's clip budget: {got} clips (built/budget); for more, "
            f"raise --clips-per-recording (now {per_recording}) or add recordings")


def _check_splits_have_recordings(split_of: dict[str, str], rec_ids: list[str]) -> None:
    """A split with no recording can only end empty: say so before anything is rendered."""
    for split in SPLITS:
        if not any(split_of.get(r) == split for r in rec_ids):
            raise FxbenchError(f"split {split!r} got no clips: no recording of the {len(rec_ids)} is assigned to it; "
                               f"add recordings (or players, for a source split by player)", exit_code=2)


def _plan(rec_ids: list[str], split_of: dict[str, str], budget: dict[str, int], per_recording: int,
          work: Path, key: str, seed: int = 0) -> dict[str, list[ShardJob]]:
    """Each split's recordings, in id order, cut into groups: one job (and shard) each.

    A group holds SHARD_CLIPS clips' worth of recordings, or just enough for the split's whole budget when
    that is smaller (a 6-clip test split is not rendered 16 clips at a time)."""
    order = {rid: i for i, rid in enumerate(rec_ids)}
    jobs: dict[str, list[ShardJob]] = {}
    for split in SPLITS:
        size = max(1, -(-min(SHARD_CLIPS, budget[split]) // per_recording))
        mine = [r for r in rec_ids if split_of.get(r) == split]
        jobs[split] = [ShardJob(split, k, order[mine[i]], tuple(mine[i:i + size]), size * per_recording,
                                str(work), key, seed) for k, i in enumerate(range(0, len(mine), size))]
    return jobs


def _build_into(task: TaskConfig, source: Source, seed: int, root: Path, progress: bool,
                workers: int | None) -> dict:
    from fxbench.dataset.card import write_card
    from fxbench.dataset.workers import shard_pool

    started = time.perf_counter()
    policy = ClipPolicy.for_task(task, source)
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
    _check_splits_have_recordings(split_of, rec_ids)
    budget = split_budget(task)
    g = task.rows_per_clip

    root.mkdir(parents=True)
    work = root / ".work"
    fp = fingerprint(task, source, seed)
    jobs = _plan(sorted(rec_ids), split_of, budget, policy.clips_per_recording, work, fp, seed)
    files: dict[str, str] = {}
    stats = {s: {"rows": 0, "clips": 0, "recordings": 0} for s in SPLITS}
    cursor = {s: 0 for s in SPLITS}
    in_flight = {s: 0 for s in SPLITS}  # the most clips the split's running jobs can give

    def next_job() -> ShardJob | None:
        """The next job of a split that may still need it, counting running jobs as full. Bigger jobs go
        first (then the earliest): the small validation and test groups then fill the last gaps instead of
        one full training group running alone at the end. Each split keeps its own order, so the output is
        the same whatever the order across splits."""
        open_ = [s for s in SPLITS if cursor[s] < len(jobs[s])
                 and stats[s]["clips"] + in_flight[s] < budget[s]]
        if not open_:
            return None
        split = min(open_, key=lambda s: (-jobs[s][cursor[s]].most_clips, jobs[s][cursor[s]].order))
        job = jobs[split][cursor[split]]
        cursor[split] += 1
        in_flight[split] += job.most_clips
        return job

    def keep(result: ShardResult) -> int:
        """Take the result's clips up to its split's budget; its shards become dataset files, named by
        their sha256 (the manifest lists each with it, and fxbench keys its `datasets` cache on those
        checksums, so other data is never served a stale copy). Returns the clips taken."""
        split = result.job.split
        in_flight[split] -= result.job.most_clips
        room = budget[split] - stats[split]["clips"]
        took = 0
        for _, n in result.clips:
            take = min(n, room - took)
            if take > 0:
                stats[split]["recordings"] += 1
                took += take
        cut = took < sum(n for _, n in result.clips)
        for config, path, per_clip in ((task.task, result.task_file, g), (DRY_CONFIG, result.dry_file, 1)):
            if path is None:
                continue
            if took == 0:
                os.unlink(path)
                continue
            if cut:
                truncate(Path(path), took * per_clip, per_clip)
            digest = sha256_file(Path(path))
            rel = f"{config}/{split}-{result.job.index:05d}-{digest[:16]}.parquet"
            (root / config).mkdir(exist_ok=True)
            os.rename(path, root / rel)
            files[rel] = digest
        stats[split]["clips"] += took
        stats[split]["rows"] += took * g
        return took

    with progress_bar(f"build {task.task}", total=task.dataset.clips, enabled=progress) as advance, \
            shard_pool(task, source, workers) as (submit, depth):
        queue: deque = deque()
        while True:
            while len(queue) < depth:
                job = next_job()
                if job is None:
                    break
                queue.append(submit(job))
            if not queue:
                break
            took = keep(queue.popleft().result())
            advance(took, info=f"{sum(s['rows'] for s in stats.values())} rows")
        n_clips = sum(s["clips"] for s in stats.values())
        if n_clips < task.dataset.clips:  # the source ran short: end the bar at what was built
            advance(0, total=n_clips)
    shutil.rmtree(work, ignore_errors=True)
    empty = [s for s in SPLITS if stats[s]["rows"] == 0]
    if empty:
        mine = sum(split_of.get(r) == empty[0] for r in rec_ids)
        raise FxbenchError(f"split {empty[0]!r} got no clips: its {mine} recording(s) gave no non-silent "
                           f"{task.clip_seconds:g}-s clip (the source gave {n_clips} in all); add recordings or "
                           f"raise --clips-per-recording")
    manifest = {
        "fxbench_version": fxbench.__version__, "format_version": FORMAT_VERSION,
        "fingerprint": fp,
        "task": task.task, "task_version": task.version, "task_digest": task.digest(),
        "task_definition": task.to_dict(), "source": source.spec(), "seed": seed, "clip_policy": policy.to_dict(),
        "grid_size": g, "splits": stats, "files": files,
        **({"draws_version": _draws_version()} if task.is_sampled else {}),
        "build_seconds": round(time.perf_counter() - started, 3),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    manifest = json.loads(json.dumps(manifest))  # exactly what a reader of fxbench.json gets (lists, not tuples)
    write_card(root, task, manifest)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if n_clips < task.dataset.clips:
        print(f"fxbench: note: {shortfall_line(stats, budget, policy.clips_per_recording)}", file=sys.stderr)
    return manifest
