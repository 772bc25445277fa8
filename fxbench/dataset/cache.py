"""Where built datasets live: a user cache keyed by fingerprint, never inside the installed package."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

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
    """The manifest of a complete dataset folder, or None (missing, partial, unreadable, or a shard gone)."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all((Path(path) / rel).is_file() for rel in files):
        return None
    return manifest


def ensure_dataset(task: TaskConfig, source: Source, seed: int, data_dir: Optional[str] = None,
                   progress: bool = True) -> tuple[Path, dict, Optional[float]]:
    """Reuse the cached dataset with this fingerprint, or build it; return (folder, manifest, build seconds).
    The source's clips per recording (set by ``open_source``) are part of the fingerprint."""
    fp = fingerprint(task, source, seed)
    path = cache_root(data_dir) / "datasets" / f"{task.task}-{source.name}-{fp[:12]}"
    manifest = read_manifest(path)
    if manifest is not None and manifest.get("fingerprint") == fp:
        return path, manifest, None
    started = time.perf_counter()
    manifest = build_dataset(task, source, seed, path, progress=progress)
    return path, manifest, time.perf_counter() - started


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

    path = resolve_data(data)
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
