"""Load a built dataset folder through `datasets.load_dataset`, into SplitData for the models."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from fxbench.dataset.build import DRY_CONFIG, MANIFEST
from fxbench.dataset.cache import read_manifest
from fxbench.dataset.clips import SPLITS
from fxbench.dataset.split import SplitData
from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig


def load_hf(path: Path, config: str):
    """`datasets.load_dataset` on the folder, quietly (fxbench draws its own progress), with its arrow copy
    cached per content: `datasets` keys a local folder by its name and file names, so two folders alike in
    those, or one whose shards were replaced in place, would otherwise be served the same old rows. The key
    is the fingerprint and the shards' checksums, not the whole manifest, so a rebuild of the same data
    (a new build time, the same bytes) reuses the copy instead of adding one."""
    import datasets

    from fxbench.dataset.cache import cache_root

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets.load_dataset(str(path), config, cache_dir=str(cache_root() / "hf-datasets" / content_key(path)))


def content_key(path: Path) -> str:
    """What the folder's rows are, in 16 hex digits: its fingerprint(s) and the ``files`` map of its manifest."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
        tasks = manifest.get("tasks") or {}
        content = {"fingerprint": manifest.get("fingerprint"), "files": manifest["files"],
                   "tasks": {name: m.get("fingerprint") for name, m in tasks.items()}}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        raise FxbenchError(f"{path} has no readable {MANIFEST}: it is not a complete fxbench dataset; rebuild it "
                           f"with `fxbench data build`") from None
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


class DryLookup:
    """clip id -> dry Mel spectrogram, read from the `dry` config on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: dict[str, np.ndarray] | None = None

    def __call__(self, clip_ids: list[str]) -> np.ndarray:
        if self._index is None:
            dd = load_hf(self.path, DRY_CONFIG)
            self._index = {}
            for split in dd.values():
                cols = split.with_format("numpy", columns=["clip_id", "mel"])[:]
                for cid, mel in zip(cols["clip_id"], cols["mel"]):
                    self._index[str(cid)] = mel.astype(np.float32)
        return np.stack([self._index[c] for c in clip_ids])[:, None]


def load_splits(path: Path, task: TaskConfig) -> dict[str, SplitData]:
    """train / validation / test of ``task`` from a dataset folder built by fxbench."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is None:
        raise FxbenchError(f"{path} is not a complete fxbench dataset (no fxbench.json); rebuild it with "
                           f"`fxbench data build --task {task.task} --out {path}`")
    from fxbench.dataset.build_all import task_manifest

    mine = task_manifest(manifest, task.task)
    if mine is None:
        built = sorted(manifest["tasks"]) if "tasks" in manifest else [manifest.get("task")]
        raise FxbenchError(f"{path} holds no task {task.task!r} (it has {', '.join(map(str, built))}); build it "
                           f"with `fxbench data build --task {task.task}`")
    if mine.get("task_digest") != task.digest():
        raise FxbenchError(f"{path} was built for task {task.task!r} version {mine.get('task_version')}, not this "
                           f"definition of it; rebuild it")
    try:
        dd = load_hf(path, task.task)
    except Exception as exc:  # a damaged shard surfaces as any of several pyarrow/datasets errors
        first = (str(exc).splitlines() or [""])[0][:200]
        raise FxbenchError(f"could not read the dataset at {path} ({type(exc).__name__}: {first}); delete "
                           f"the folder and run again to rebuild it") from None
    dry = DryLookup(path)
    scaled = [f"{p.name}_scaled" for p in task.parameters]
    out = {}
    for split in SPLITS:
        blind = split == "test" and mine.get("blind") is True  # targets withheld (fxbench/dataset/blind.py)
        targets = [] if blind else ["grid_index", *scaled]
        cols = dd[split].with_format("numpy", columns=["id", "clip_id", "recording_id", "mel", *targets])[:]
        n = len(cols["id"])
        out[split] = SplitData(
            name=split, ids=[str(v) for v in cols["id"]], clip_ids=[str(v) for v in cols["clip_id"]],
            recording_ids=[str(v) for v in cols["recording_id"]],
            grid_index=np.full(n, -1, dtype=np.int64) if blind else np.asarray(cols["grid_index"], dtype=np.int64),
            x=np.ascontiguousarray(cols["mel"], dtype=np.float32)[:, None],
            y=np.full((n, len(scaled)), np.nan, dtype=np.float32) if blind else
            np.stack([np.asarray(cols[c], dtype=np.float32) for c in scaled], axis=1),
            dry_x=dry)
    return out
