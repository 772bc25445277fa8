"""Where built datasets live: a user cache keyed by fingerprint, never inside the installed package."""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from fxbench.dataset.build import MANIFEST, build_dataset, fingerprint
from fxbench.sources.base import Source
from fxbench.task import TaskConfig


def cache_root(data_dir: Optional[str] = None) -> Path:
    """``--data-dir``, else $FXBENCH_CACHE, else $XDG_CACHE_HOME/fxbench, else ~/.cache/fxbench."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("FXBENCH_CACHE"):
        return Path(os.environ["FXBENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fxbench"


def read_manifest(path: Path) -> Optional[dict]:
    """The manifest of a complete dataset folder, or None (missing, partial, unreadable, or a shard gone).

    Raises ``DatasetMismatch`` (exit 2) for a folder that is not what its manifest says: a listed path
    outside the folder, a shard whose sha256 differs (cached per file, so an unchanged folder costs a
    stat per shard), or a card that points `datasets` at a file the manifest does not list."""
    from fxbench.dataset.integrity import check_card, check_shards, unsafe_paths

    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(d, str) for d in files.values()):
        return None
    if not unsafe_paths(path, files) and not all((Path(path) / rel).is_file() for rel in files):
        return None
    check_shards(path, files)
    check_card(path, files)
    return manifest


def ensure_dataset(task: TaskConfig, source: Source, seed: int, data_dir: Optional[str] = None,
                   progress: bool = True) -> tuple[Path, dict, Optional[float]]:
    """Reuse the cached dataset with this fingerprint, or build it; return (folder, manifest, build seconds).
    The source's clips per recording (set by ``open_source``) are part of the fingerprint."""
    fp = fingerprint(task, source, seed)
    path = cache_root(data_dir) / "datasets" / f"{task.task}-{source.name}-{fp[:12]}"
    manifest = _cached(path, fp)
    if manifest is not None:
        return path, manifest, None
    path.parent.mkdir(parents=True, exist_ok=True)
    with _entry_lock(path):  # another process building this entry: wait, then take its build
        manifest = _cached(path, fp, note=False)
        if manifest is not None:
            return path, manifest, None
        started = time.perf_counter()
        manifest = build_dataset(task, source, seed, path, progress=progress, overwrite=True)
        return path, manifest, time.perf_counter() - started


def _cached(path: Path, fp: str, note: bool = True) -> Optional[dict]:
    """The cache entry's manifest when it is complete and intact; a changed entry is rebuilt, with a note."""
    from fxbench.dataset.integrity import DatasetMismatch

    try:
        manifest = read_manifest(path)
    except DatasetMismatch as exc:
        if note:
            print(f"fxbench: note: rebuilding the cached dataset: {str(exc).split(';')[0]}", file=sys.stderr)
        return None
    return manifest if manifest is not None and manifest.get("fingerprint") == fp else None


@contextmanager
def _entry_lock(path: Path) -> Iterator[None]:
    """One builder per cache entry: the lock file ``<entry>.lock`` beside it, held for the whole build."""
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"fxbench: waiting for another process building {path} …", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def resolve_dataset(task: TaskConfig, source: str = "synth", seed: int = 0, data_dir: Optional[str] = None,
                    data: Optional[str] = None, progress: bool = True, clips_per_recording: Optional[int] = None
                    ) -> tuple[Path, dict, Optional[float]]:
    """The dataset a command runs on: ``data`` (a built folder or Hub repo id) as given, else the
    cached build of ``source`` with ``seed`` (and ``clips_per_recording``, None: the source kind's default),
    built first when missing; (folder, manifest, build seconds)."""
    from fxbench.errors import FxbenchError
    from fxbench.sources import open_source

    if data is None:
        return ensure_dataset(task, open_source(source, task, seed, clips_per_recording), seed, data_dir,
                              progress=progress)
    from fxbench.dataset.hub import resolve_data

    path = resolve_data(data).path
    manifest = read_manifest(path)
    if manifest is None:
        raise FxbenchError(f"--data {data} is not a complete fxbench dataset (no fxbench.json or a shard "
                           f"missing); build one with `fxbench data build`", exit_code=2)
    from fxbench.dataset.build_all import task_manifest

    mine = task_manifest(manifest, task.task)
    if mine is None:
        built = sorted(manifest["tasks"]) if "tasks" in manifest else [manifest.get("task")]
        raise FxbenchError(f"--data {data} holds no task {task.task!r} (it has {', '.join(map(str, built))}); "
                           f"pick one of those with --task, or build {task.task!r} into it", exit_code=2)
    return path, mine, None
