"""Where a build writes: a temporary folder beside the output, renamed into place when complete.

A build only ever replaces a folder that is itself an fxbench dataset (or empty), never the source it reads;
the temporary, set-aside and labelled (a blind build's private copy) folders carry the builder's pid, so a
later build can remove those a killed build left behind without touching one that is still being written.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Iterable

from fxbench.errors import FxbenchError

_LEFTOVER = re.compile(r"^\..+\.(partial|old|labelled)-(\d+)-[0-9a-f]{8}$")


def temp_dir(out_dir: Path, kind: str = "partial") -> Path:
    """A fresh name beside ``out_dir`` for a folder being built (``partial``), set aside (``old``), or holding
    the labelled build of a blind one (``labelled``)."""
    return out_dir.parent / f".{out_dir.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def check_out_dir(out_dir: Path, overwrite: bool = False, protected: Iterable[Path] = ()) -> None:
    """Refuse, before any work, an output folder whose replacement would lose the user's files.

    Replaceable: a missing or empty folder, or one holding an fxbench manifest; anything else only with
    ``overwrite``. Never a file, nor a folder that is or holds one of ``protected`` (the source's audio)."""
    from fxbench.dataset.build import MANIFEST

    out_dir = Path(out_dir)
    where = out_dir.resolve()
    for folder in protected:
        mine = Path(folder).resolve()
        if mine == where or where in mine.parents:
            raise FxbenchError(f"--out {out_dir} is or holds the source folder {folder}; a build replaces its "
                               f"output folder, so write the dataset somewhere else", exit_code=2)
    if out_dir.is_symlink():
        if overwrite:
            return
        raise FxbenchError(f"--out {out_dir} is a link; give a new folder path, or pass --overwrite to replace "
                           f"the link (not what it points to)", exit_code=2)
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FxbenchError(f"--out {out_dir} is a file, not a folder; give a new folder path", exit_code=2)
    if overwrite or (out_dir / MANIFEST).is_file() or not any(out_dir.iterdir()):
        return
    raise FxbenchError(f"--out {out_dir} holds files but no {MANIFEST}, so it is not an fxbench dataset and a "
                       f"build would delete it; give a new or empty folder, or pass --overwrite to replace it",
                       exit_code=2)


def swap_in(tmp: Path, out_dir: Path) -> None:
    """Rename the complete ``tmp`` to ``out_dir``, setting aside and then removing what was there."""
    if not (out_dir.exists() or out_dir.is_symlink()):
        os.rename(tmp, out_dir)
        return
    old = temp_dir(out_dir, "old")
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    if old.is_symlink():
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove the temporary folders of builds that were killed (their pid is gone); return them."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m is None or int(m.group(2)) == os.getpid() or _alive(int(m.group(2))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def source_folders(source: object) -> list[Path]:
    """The folders a source reads its audio from (a build must not replace them)."""
    found = []
    for owner in (source, getattr(source, "folder", None)):
        root = getattr(owner, "root", None)
        if isinstance(root, (str, Path)):
            found.append(Path(root))
    return found
