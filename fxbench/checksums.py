"""Checksums shared by the dataset builder, `data verify` and the folder source's fingerprint."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks so large audio never sits in memory whole."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_json(value: Any) -> str:
    """sha256 of a value's canonical JSON (sorted keys): the same inputs, the same digest."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def task_files_digest(files: Mapping[str, str], task: str) -> str:
    """Digest of the checksums of one task's shards in a dataset manifest's ``files`` map.

    The fingerprint hashes what a dataset is built *from*, so an edited copy keeps it; this hashes what was
    built, so a copy whose labels were edited (and whose checksums were rewritten to match) gets another one.
    Only the task's own shards count: they hold every label, and a folder of several tasks shares its dry
    shards, so the same task gets the same digest in either layout."""
    return sha256_json({rel: digest for rel, digest in files.items() if rel.startswith(f"{task}/")})
