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

SCHEMA_VERSION = 3
REQUIRED = ("task", "task_version", "model", "seed", "source", "dataset_fingerprint", "n_train",
            "n_validation", "n_test", "metrics", "config", "timing", "fxbench_version", "created_at")
# Schema history. 1: the first release. 2: adds `submission` (how the predictions were made),
# `predictions_sha256` (hash of test ids + predictions, to re-check a row) and `row_abs_errors`
# (per test row MAE in [0, 1], sorted by id, for bootstrap intervals). 3: adds the evaluation condition:
# `eval_source` (the --eval-source spec; null = the training dataset's own test split), `eval_split`
# ("test" or "all"), `eval_dataset_fingerprint` and `condition` (synth_to_synth, real_to_real,
# synth_to_real or real_to_synth). Old records are upgraded on read.


def predictions_sha256(ids: list[str], predictions: Any) -> str:
    """Hash of (id, scaled predictions rounded to 1e-6), sorted by id: independent of row order."""
    import hashlib

    import numpy as np

    pred = np.round(np.asarray(predictions, dtype=np.float64), 6)
    rows = sorted(zip(ids, pred.tolist()))
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def row_abs_errors(ids: list[str], y_true: Any, predictions: Any) -> list[float]:
    """Per-row MAE over the parameters, in sorted-id order (rounded to 1e-6)."""
    import numpy as np

    err = np.abs(np.asarray(predictions, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)).mean(axis=1)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return [round(float(err[i]), 6) for i in order]


def new_record(task: Any, *, model: str, submission: dict, seed: Any, data_seed: Any, source: str,
               manifest: dict, splits: dict, evaluation: Any, pred: Any, metrics: dict, config: dict,
               history: list, timing: dict, environment: dict) -> dict:
    """The one place a result record is assembled, for `run` and `score` alike (same keys, same order).

    ``evaluation`` (an ``fxbench.evaluation.EvalSet``) holds the rows that were scored: the training
    dataset's test split, or another source's rows; the record names both datasets."""
    import platform
    from datetime import datetime, timezone

    import fxbench
    from fxbench.evaluation import condition

    test = evaluation.data
    other = evaluation.source is not None
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task.task, "task_version": task.version, "task_digest": task.digest(),
        "model": model, "submission": submission, "seed": seed, "data_seed": data_seed, "source": source,
        "dataset_fingerprint": manifest["fingerprint"],
        "eval_source": evaluation.source, "eval_split": evaluation.split,
        "eval_dataset_fingerprint": evaluation.manifest["fingerprint"] if other else None,
        "condition": condition(manifest, evaluation.manifest),
        "n_train": len(splits["train"]), "n_validation": len(splits["validation"]), "n_test": len(test),
        "param_units": {p.name: p.unit for p in task.parameters},
        "metrics": metrics,
        "predictions_sha256": predictions_sha256(test.ids, pred),
        "row_abs_errors": row_abs_errors(test.ids, test.y, pred),
        "config": config, "history": history,
        "timing": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in timing.items()},
        "fxbench_version": fxbench.__version__, "git_commit": git_commit(),
        "environment": {"python": platform.python_version(), "platform": platform.platform(), **environment},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def upgrade_record(record: dict) -> dict:
    """Bring an older record to the current schema (fields it never had become None)."""
    record = dict(record)
    version = record.get("schema_version", 1)
    if version == 1:
        record.setdefault("submission", {"kind": "model", "spec": record.get("model")})
        record.setdefault("predictions_sha256", None)
        record.setdefault("row_abs_errors", None)
        record["schema_version"] = version = 2
    if version <= 3 and "condition" not in record:  # scored on its training dataset's own test split
        synth = str(record.get("source", "")).startswith("synth")
        record.setdefault("eval_source", None)
        record.setdefault("eval_split", "test")
        record.setdefault("eval_dataset_fingerprint", None)
        record.setdefault("condition", "synth_to_synth" if synth else "real_to_real")
        record["schema_version"] = 3
    return record


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a record or leaderboard is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    """leaderboard/results/<task>/<model>__seed<N>__<fingerprint12>[__on-<eval fingerprint12>[-all]].json
    (a rerun overwrites its own); scored prediction files, which have no seed, get ``__predictions__``."""
    run = "predictions" if record.get("seed") is None else f"seed{record['seed']}"
    on = ""
    if record.get("eval_dataset_fingerprint"):
        on = f"__on-{record['eval_dataset_fingerprint'][:12]}" + ("-all" if record.get("eval_split") == "all" else "")
    name = f"{slug(record['model'])}__{run}__{record['dataset_fingerprint'][:12]}{on}.json"
    return Path(results_dir) / record["task"] / name


def write_record(record: dict, path: Path) -> Path:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False) + "\n")
    return Path(path)


def validate_record(record: Any, where: str) -> dict:
    """Check a record read from disk and upgrade it to the current schema."""
    if not isinstance(record, dict):
        raise FxbenchError(f"{where}: a result record must be a JSON object")
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise FxbenchError(f"{where}: unknown schema_version {version!r} (this fxbench reads 1..{SCHEMA_VERSION}); "
                           f"upgrade fxbench")
    record = upgrade_record(record)
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise FxbenchError(f"{where}: result record lacks {missing[0]!r}; regenerate it with `fxbench run`")
    if not isinstance(record["metrics"], dict) or "mae" not in record["metrics"]:
        raise FxbenchError(f"{where}: result record has no metrics.mae; regenerate it with `fxbench run`")
    return record


def read_records(results_dir: Path) -> list[tuple[Path, dict]]:
    """(path, record) of every ``*.json`` under ``results_dir``, sorted by path, each checked and upgraded;
    a broken one is an error naming it."""
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
        records.append((path, validate_record(data, str(path))))
    return records
