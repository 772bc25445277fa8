"""The answer key of a blind test split: the withheld targets, kept apart from the dataset folder.

The key binds itself to one build (task name, task digest, dataset fingerprint) and to the blind test ids
exactly, so a key of another build, another task definition or a hand-edited key is refused with one line
instead of scoring predictions against the wrong targets.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig

FORMAT = "fxbench-answers/1"
SHOW = 3  # ids quoted in a message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AnswerRow(_Strict):
    """One blind test row's targets; ``id`` is the row's id in the labelled build."""

    id: str
    grid_index: int
    scaled: dict[str, float]
    units: dict[str, float]


class AnswerKey(_Strict):
    format: Literal["fxbench-answers/1"]
    task: str
    task_version: int
    task_digest: str
    dataset_fingerprint: str
    seed: Optional[int] = None  # the data seed the blind folder withholds: the organiser rebuilds with it
    parameters: dict[str, str]  # name -> unit
    created_at: str
    rows: dict[str, AnswerRow]  # blind id -> targets


def answers_path_for(out: Path) -> Path:
    """Where `data build --blind` puts the key by default: beside the folder (``DIR.answers.json``), never in it,
    so publishing the folder can never publish the key."""
    out = Path(os.path.abspath(out))  # `--out .` still gets a key beside the folder, not `./.answers.json`
    return out.parent / f"{out.name}.answers.json"


def check_answers_path(answers: Path, out: Path) -> None:
    """Fail before any work on a key that would land inside the folder (which the swap replaces, deleting it)
    or replace an existing file. Paths are compared as written and resolved (links, ``..``), so neither a
    link nor ``..`` can smuggle the key into the folder."""
    answers, out = Path(answers), Path(out)
    written = (answers.absolute(), out.absolute())
    resolved = (answers.parent.resolve() / answers.name, out.resolve())
    for key, folder in (written, resolved):
        if key == folder or folder in key.parents:
            raise FxbenchError(f"--answers {answers} is inside the dataset folder {out}, which is published and "
                               f"replaced; put the key outside it (default: {answers_path_for(out)})", exit_code=2)
    if answers.exists() or answers.is_symlink():
        raise _exists(answers)


def _exists(path: Path) -> FxbenchError:
    return FxbenchError(f"answer key {path} already exists; refusing to overwrite it (it may be the only key of an "
                        f"earlier blind build): pass --answers NEW_PATH or move it away", exit_code=2)


def write_new(path: Path, key: AnswerKey) -> None:
    """Write the key under a temporary name, then link it into place: a half-written key is never seen, and an
    existing file is never replaced. Readable by its owner only: it is the secret half of a blind split."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key.model_dump_json(indent=1) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise _exists(path) from None
        except OSError:  # a file system without hard links: check, then rename
            if path.exists():
                raise _exists(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def read_key(path: Path) -> AnswerKey:
    """The key at ``path``, checked against its schema (an unknown or missing field is an error)."""
    path = Path(path)
    if not path.is_file():
        raise FxbenchError(f"answer key {path} not found; pass the .answers.json that `fxbench data build --blind` "
                           f"wrote", exit_code=2)
    try:
        return AnswerKey.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise FxbenchError(f"{path} is not an fxbench answer key ({where}: {first['msg']}); pass the .answers.json "
                           f"that `fxbench data build --blind` wrote", exit_code=2) from None


def _first(ids: list[str]) -> str:
    return ", ".join(map(repr, ids[:SHOW])) + (f", ... ({len(ids)} in all)" if len(ids) > SHOW else "")


def check_key(key: AnswerKey, where: Path, task: TaskConfig, manifest: dict, test_ids: list[str]) -> None:
    """The key must be this build's: same task and definition, same dataset, and exactly the test ids."""
    hint = "use the key written with this blind folder"
    if key.task != task.task:
        raise FxbenchError(f"answer key {where} is for task {key.task!r}, not {task.task!r}; {hint}", exit_code=2)
    if key.task_digest != task.digest() or key.task_digest != manifest.get("task_digest"):
        raise FxbenchError(f"answer key {where} was made for another definition of task {task.task!r} (task digest "
                           f"{key.task_digest[:12]}, the folder's {str(manifest.get('task_digest'))[:12]}); {hint}",
                           exit_code=2)
    if key.dataset_fingerprint != manifest.get("fingerprint"):
        raise FxbenchError(f"answer key {where} belongs to dataset {key.dataset_fingerprint[:12]}, not this folder's "
                           f"{str(manifest.get('fingerprint'))[:12]}; {hint}", exit_code=2)
    names = {p.name for p in task.parameters}
    bad = sorted(i for i, row in key.rows.items() if set(row.scaled) != names or set(row.units) != names)
    if bad:
        raise FxbenchError(f"answer key {where}: rows {_first(bad)} do not give exactly the parameters "
                           f"{', '.join(sorted(names))}; {hint}", exit_code=2)
    wanted = set(test_ids)
    extra = sorted(set(key.rows) - wanted)
    missing = sorted(wanted - set(key.rows))
    if extra or missing or len(wanted) != len(test_ids):
        raise FxbenchError(f"answer key {where} does not match the folder's test ids ({len(missing)} test id(s) "
                           f"missing from the key, first {_first(missing) or 'none'}; {len(extra)} id(s) not in the "
                           f"test split, first {_first(extra) or 'none'}); {hint}", exit_code=2)


def targets(key: AnswerKey, task: TaskConfig, test_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(scaled targets (n, n_params) float32, grid indices (n,)) in ``test_ids`` order."""
    rows = [key.rows[i] for i in test_ids]
    y = np.array([[r.scaled[p.name] for p in task.parameters] for r in rows], dtype=np.float32).reshape(
        len(rows), len(task.parameters))
    return y, np.array([r.grid_index for r in rows], dtype=np.int64)


def load_targets(path: Path, task: TaskConfig, manifest: dict, test_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read, check and align the key at ``path`` with a blind folder's test rows."""
    key = read_key(path)
    check_key(key, Path(path), task, manifest, test_ids)
    return targets(key, task, test_ids)

