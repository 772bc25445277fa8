"""Result records: one JSON file per run, everything needed to trust and re-run it."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

from fxbench.errors import FxbenchError

SCHEMA_VERSION = 1
REQUIRED = ("task", "task_version", "model", "seed", "source", "dataset_fingerprint", "n_train",
            "n_validation", "n_test", "metrics", "config", "timing", "fxbench_version", "created_at")


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def git_commit() -> Optional[str]:
    """The fxbench checkout's commit, when it runs from one (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def default_path(results_dir: Path, record: dict) -> Path:
    """leaderboard/results/<task>/<model>__seed<N>__<fingerprint12>.json (a rerun overwrites its own)."""
    name = f"{slug(record['model'])}__seed{record['seed']}__{record['dataset_fingerprint'][:12]}.json"
    return Path(results_dir) / record["task"] / name


def write_record(record: dict, path: Path) -> Path:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False) + "\n")
    return Path(path)


def validate_record(record: Any, where: str) -> dict:
    if not isinstance(record, dict):
        raise FxbenchError(f"{where}: a result record must be a JSON object")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise FxbenchError(f"{where}: result record lacks {missing[0]!r}; regenerate it with `fxbench run`")
    if not isinstance(record["metrics"], dict) or "mae" not in record["metrics"]:
        raise FxbenchError(f"{where}: result record has no metrics.mae; regenerate it with `fxbench run`")
    return record


def read_records(results_dir: Path) -> list[dict]:
    """Every ``*.json`` record under ``results_dir``, sorted by path; a broken one is an error naming it."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FxbenchError(f"results folder {results_dir} does not exist; run `fxbench run` first or pass "
                           f"--results DIR", exit_code=2)
    records = []
    for path in sorted(results_dir.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FxbenchError(f"{path}: not valid JSON ({exc}); fix or delete the file") from None
        records.append(validate_record(data, str(path)))
    return records
