"""Is a dataset folder what its manifest says: every listed path inside the folder, every shard matching
its sha256? Checked on every read, so a copy with edited labels is refused instead of scored.

Hashing a large dataset on each read would cost seconds, so each shard's digest is kept in a small JSON file
under the cache root, keyed by the file's path, size, mtime, ctime and inode: an unchanged folder is read
again without hashing, and any write to a shard (which moves its mtime and ctime) gets it hashed again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from fxbench.checksums import sha256_file
from fxbench.errors import FxbenchError

HASH_CACHE = "shard-hashes.json"
CARD = "README.md"  # the dataset card, whose YAML header tells `datasets` which files to read


class DatasetMismatch(FxbenchError):
    """A folder that is not what its manifest says: a changed shard, a path outside it, a card naming more."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message, exit_code)


def relative_ok(rel: object) -> bool:
    """Whether a manifest path is plainly inside its folder: relative, POSIX, no empty, ``.`` or ``..`` part."""
    return (isinstance(rel, str) and bool(rel) and "\\" not in rel and not rel.startswith("/")
            and not any(part in ("", ".", "..") for part in rel.split("/")))


def shard_path(root: Path, rel: object) -> Optional[Path]:
    """``root / rel`` when ``rel`` is a relative path that stays inside ``root`` (links followed), else None."""
    if not relative_ok(rel):
        return None
    full = Path(root) / str(rel)
    if _containing(root) not in full.resolve().parents:
        return None
    return full


def _containing(root: Path) -> Path:
    """The folder a dataset's files may resolve into: the folder itself, or for a snapshot in the Hugging Face
    cache (whose files are links into the repo's ``blobs/``) that repo's cache folder."""
    base = Path(root).resolve()
    if base.parent.name == "snapshots" and (base.parent.parent / "blobs").is_dir():
        return base.parent.parent
    return base


def unsafe_paths(root: Path, files: dict) -> list[str]:
    """The manifest entries that point outside ``root``: absolute, with ``..``, or through a link leading out."""
    return [str(rel) for rel in files if shard_path(root, rel) is None]


def _outside_line(root: Path, rel: str) -> str:
    return (f"{Path(root) / 'fxbench.json'} lists {rel!r}, a path outside the dataset folder, so the folder is not "
            f"read; rebuild it with `fxbench data build` (`fxbench data verify {root}` lists every problem)")


def check_shards(root: Path, files: dict) -> None:
    """Raise DatasetMismatch for the first path outside ``root`` or shard whose sha256 is not the manifest's.
    Missing shards are the caller's to judge (a partial folder is not a tampered one)."""
    unsafe = unsafe_paths(root, files)
    if unsafe:
        raise DatasetMismatch(_outside_line(root, unsafe[0]))
    cache = _HashCache()
    try:
        for rel, digest in sorted(files.items()):
            if cache.digest(Path(root) / rel) != digest:
                raise DatasetMismatch(
                    f"shard {rel} of {root} does not match the sha256 in its fxbench.json (changed since the build); "
                    f"rebuild the folder with `fxbench data build` (`fxbench data verify {root}` lists every "
                    f"changed shard)")
    finally:
        cache.save()


def check_card(root: Path, files: dict) -> None:
    """`datasets` reads the files the card's YAML header names, not the manifest's: raise DatasetMismatch
    when it names one the manifest does not list (so was never checked), or leaves `datasets` to find the
    files itself (a config with ``data_dir`` or without ``data_files``, or no configs). No card: nothing to
    check."""
    problem = card_problem(root, files)
    if problem:
        raise DatasetMismatch(problem)


def card_problem(root: Path, files: dict) -> Optional[str]:
    """The first way the card lets `datasets` read a file the manifest does not list, as one line; or None."""
    import yaml

    card = Path(root) / CARD
    try:
        text = card.read_text()
    except OSError:
        return None
    rebuild = "rebuild the folder with `fxbench data build`"
    parts = text.split("---\n")
    try:
        header = yaml.safe_load(parts[1]) if text.startswith("---\n") and len(parts) > 2 else {}
    except yaml.YAMLError:
        header = None
    if not isinstance(header, dict):
        return f"the card {card} has no readable YAML header; {rebuild}"
    configs = header.get("configs")
    if not isinstance(configs, list) or not configs:
        return (f"the card {card} lists no configs, so `datasets` would pick the files itself, unchecked; "
                f"{rebuild}")
    for config in configs:
        name = config.get("config_name") if isinstance(config, dict) else None
        if not isinstance(config, dict) or "data_dir" in config or not config.get("data_files"):
            what = "gives a data_dir" if isinstance(config, dict) and "data_dir" in config else \
                "lists no data_files"
            return (f"the card {card}: config {name!r} {what}, so `datasets` would pick the files itself, "
                    f"unchecked; {rebuild}")
        data_files = config["data_files"]
        entries = data_files if isinstance(data_files, list) else [data_files]
        for entry in entries:
            paths = entry.get("path") if isinstance(entry, dict) else entry
            for pattern in paths if isinstance(paths, list) else [paths]:
                for rel in _card_files(root, pattern):
                    if rel not in files:
                        return (f"the card {card} names {rel!r}, which its fxbench.json does not list (so it "
                                f"was never checked); {rebuild}")
    return None


def _card_files(root: Path, pattern: object) -> list[str]:
    """The files a card's ``data_files`` entry names: itself, or what a glob pattern matches in ``root``."""
    if not isinstance(pattern, str):
        return [] if pattern is None else [str(pattern)]
    if not any(c in pattern for c in "*?["):
        return [pattern]
    if not relative_ok(pattern.replace("**", "x")):
        return [pattern]
    return sorted(f.relative_to(root).as_posix() for f in Path(root).glob(pattern) if f.is_file())


def remember(root: Path, files: dict) -> None:
    """Record the digests a build just computed, so the first read of a fresh build hashes nothing."""
    cache = _HashCache()
    for rel, digest in files.items():
        cache.put(Path(root) / rel, digest)
    cache.save()


class _HashCache:
    """{resolved path: [size, mtime_ns, ctime_ns, inode, sha256]}, read once and written back atomically."""

    def __init__(self) -> None:
        from fxbench.dataset.cache import cache_root

        self.file = cache_root() / HASH_CACHE
        try:
            entries = json.loads(self.file.read_text())
        except (OSError, ValueError):
            entries = {}
        self.entries: dict = entries if isinstance(entries, dict) else {}
        self.changed: dict = {}

    @staticmethod
    def _stamp(path: Path) -> tuple[str, list]:
        st = path.stat()
        return str(path.resolve()), [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    def digest(self, path: Path) -> str:
        key, stamp = self._stamp(path)
        known = self.entries.get(key)
        if isinstance(known, list) and known[:4] == stamp and len(known) == 5:
            return known[4]
        digest = sha256_file(path)
        self.changed[key] = self.entries[key] = [*stamp, digest]
        return digest

    def put(self, path: Path, digest: str) -> None:
        try:
            key, stamp = self._stamp(path)
        except OSError:
            return
        self.changed[key] = self.entries[key] = [*stamp, digest]

    def save(self) -> None:
        """Merge this process's new digests into the file under a lock; a cache that cannot be written (a
        read-only or full disk) only means hashing again next time."""
        if not self.changed:
            return
        from filelock import FileLock, Timeout

        from fxbench.results import atomic_write_text

        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.file) + ".lock", timeout=10):
                try:
                    entries = json.loads(self.file.read_text())
                except (OSError, ValueError):
                    entries = {}
                if not isinstance(entries, dict):
                    entries = {}
                entries.update(self.changed)
                entries = {k: v for k, v in entries.items() if os.path.exists(k)}
                atomic_write_text(self.file, json.dumps(entries, sort_keys=True))
        except (OSError, Timeout):
            pass
        self.changed = {}
