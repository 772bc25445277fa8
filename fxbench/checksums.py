"""Checksums shared by the dataset builder, `data verify` and the folder source's fingerprint."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


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
