"""The canonical datasets' file digests (``datasets.json`` beside the results folder): what a ranked record
must have been scored on.

A dataset's fingerprint hashes what it is built from, so a copy whose labels were edited (and whose shard
checksums were rewritten to match) keeps the canonical fingerprint. Each record therefore also stores the
digest of the files it was scored on (``fxbench.checksums.task_files_digest``), and this file holds, per
canonical fingerprint, the digest of the files this fxbench builds for it. A record on a listed fingerprint
ranks only when its digest matches; a fingerprint not listed (a source of one's own) is not checked here.
The regeneration writes the file (`fxbench leaderboard --write-datasets`), building what is not cached.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Iterable, Literal, Optional

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from fxbench.errors import FxbenchError

DATASETS_FILE = "datasets.json"
FORMAT = "fxbench-datasets/1"
#: The ranked source of each kind: what `fxbench run` builds by default (synth) and the real audio every
#: install has (the shipped GuitarSet excerpts), both with data seed 0.
CANONICAL_SOURCES = {"synth": "synth", "real": "guitarset-excerpts"}

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    task: Annotated[str, StringConstraints(min_length=1)]
    source: Annotated[str, StringConstraints(min_length=1)]
    files_digest: Hex64


class DatasetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal[FORMAT]
    datasets: dict[Hex64, Entry]


def read_digests(path: Path) -> dict[str, str]:
    """Fingerprint -> files digest, from ``path`` (validated: one line naming the problem on a bad file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        parsed = DatasetsFile.model_validate(data)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        why = first[1].strip() if isinstance(exc, ValidationError) and len(first) > 1 else (first[0] if first else "")
        raise FxbenchError(f"{path}: not a canonical datasets file ({why}); write it again with "
                           f"`fxbench leaderboard --write-datasets`", exit_code=2) from None
    return {fp: e.files_digest for fp, e in parsed.datasets.items()}


def find_digests(results_dir: Path) -> Optional[dict[str, str]]:
    """The digests beside ``results_dir``, or None where it has no such file (nothing is checked then)."""
    path = Path(results_dir).parent / DATASETS_FILE
    return read_digests(path) if path.is_file() else None


def build_digests(tasks: Iterable[str], data_dir: Optional[str] = None, progress: bool = True) -> dict:
    """The canonical datasets of ``tasks`` (built where not cached), as a ``datasets.json`` document."""
    from fxbench.checksums import task_files_digest
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.task import load_task

    datasets = {}
    for name in tasks:
        task = load_task(name)
        for spec in CANONICAL_SOURCES.values():
            _, manifest, _ = resolve_dataset(task, spec, 0, data_dir, progress=progress)
            datasets[manifest["fingerprint"]] = {"task": task.task, "source": spec,
                                                 "files_digest": task_files_digest(manifest["files"], task.task)}
    return {"format": FORMAT, "datasets": dict(sorted(datasets.items()))}


def write_digests(path: Path, document: dict) -> Path:
    """Write ``document`` atomically, keeping the entries of tasks it does not cover."""
    from fxbench.results import atomic_write_text

    path = Path(path)
    merged = dict(document["datasets"])
    if path.is_file():
        covered = {e["task"] for e in merged.values()}
        old = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size else {}
        read_digests(path)  # a broken file is an error, not silently replaced
        merged = {**{fp: e for fp, e in old["datasets"].items() if e["task"] not in covered}, **merged}
    DatasetsFile.model_validate({"format": FORMAT, "datasets": merged})
    atomic_write_text(path, json.dumps({"format": FORMAT, "datasets": dict(sorted(merged.items()))}, indent=1)
                      + "\n")
    return path
