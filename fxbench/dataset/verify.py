"""`fxbench data verify`: recompute every shard's checksum against the manifest written at build time."""
from __future__ import annotations

import json
from pathlib import Path

from fxbench.checksums import sha256_file
from fxbench.dataset.build import MANIFEST, fingerprint_ok
from fxbench.dataset.integrity import CARD, card_problem, shard_path
from fxbench.errors import FxbenchError


def verify_dataset(path: Path) -> list[str]:
    """Problems found (empty when the folder is exactly what was built): changed or missing shards, any
    file the manifest does not list (but the card and the manifest), paths outside the folder, and a card
    that would have `datasets` read a file the manifest does not list. Hashes every shard afresh, whatever the read-time cache holds."""
    path = Path(path)
    if not path.is_dir():
        raise FxbenchError(f"dataset folder {path} does not exist; check the path", exit_code=2)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        raise FxbenchError(f"{path} has no readable {MANIFEST}: it is not a complete fxbench dataset; rebuild it "
                           f"with `fxbench data build`", exit_code=2) from None
    problems = []
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise FxbenchError(f"{path}/{MANIFEST} has no file list: it is not an fxbench dataset; rebuild it with "
                           f"`fxbench data build`", exit_code=2)
    for rel, digest in sorted(files.items()):
        f = shard_path(path, rel)
        if f is None:
            problems.append(f"path outside the folder {rel!r} in the manifest (never read)")
        elif not f.is_file():
            problems.append(f"missing shard {rel}")
        elif sha256_file(f) != digest:
            problems.append(f"changed shard {rel} (sha256 differs from the manifest)")
    for f in sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink()):
        rel = f.relative_to(path).as_posix()
        if rel not in files and rel not in (MANIFEST, CARD):
            kind = "shard" if rel.endswith(".parquet") else "file"
            problems.append(f"extra {kind} {rel} (not in the manifest)")
    card = card_problem(path, files)
    if card:
        problems.append(card)
    for name, mine in sorted(manifest.get("tasks", {"": manifest}).items()):
        if not fingerprint_ok(mine):
            which = f" of task {name!r}" if name else ""
            problems.append(f"the manifest's fingerprint{which} does not match its own task, source and seed")
    return problems
