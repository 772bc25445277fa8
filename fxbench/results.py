"""Result records: one JSON file per run, everything needed to trust and re-run it."""
from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

from fxbench.checksums import task_files_digest
from fxbench.errors import FxbenchError
from fxbench.record_schema import SCHEMA_VERSION, check_record

# Schema history. 1: the first release. 2: adds `submission` (how the predictions were made),
# `predictions_sha256` (hash of test ids + predictions, to re-check a row) and `row_abs_errors`
# (per test row MAE in [0, 1], sorted by id, for bootstrap intervals). 3: adds the evaluation condition:
# `eval_source` (the --eval-source spec; null = the training dataset's own test split), `eval_split`
# ("test" or "all"), `eval_dataset_fingerprint` and `condition` (synth_to_synth, real_to_real,
# synth_to_real or real_to_synth). 4: one strict schema (fxbench/record_schema.py) and adds `blind` (scored
# against a hidden answer key), `data_revision` and `environment.torch_threads`. Old records are
# upgraded on read, then held to the current schema. 5: adds `input` (the input track: "wet" or "paired") and
# `predictions` (every test row's scaled predictions, so that a metric added later needs no retraining).


PREDICTIONS_ENCODING = "float32-le-base64"


def stored_predictions(predictions: Any) -> Any:
    """Predictions as a record keeps them: float32, the precision every torch baseline predicts in."""
    import numpy as np

    return np.asarray(predictions, dtype=np.float32)


def encode_predictions(ids: list[str], predictions: Any) -> dict:
    """``record.predictions``: ids sorted, and the rows in that order as little-endian float32, base64; a
    compact form that reads back bit for bit."""
    import base64

    import numpy as np

    pred = stored_predictions(predictions)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    data = np.ascontiguousarray(pred[order], dtype="<f4").tobytes()
    return {"encoding": PREDICTIONS_ENCODING, "ids": [ids[i] for i in order], "shape": list(pred.shape),
            "data": base64.b64encode(data).decode("ascii")}


def decode_predictions(stored: dict) -> tuple[list[str], Any]:
    """(ids, (n, n_params) float32) from ``record.predictions`` (already checked by the schema)."""
    import base64

    import numpy as np

    values = np.frombuffer(base64.b64decode(stored["data"]), dtype="<f4").reshape(stored["shape"])
    return list(stored["ids"]), values.astype(np.float32)


def predictions_sha256(ids: list[str], predictions: Any) -> str:
    """Hash of (id, scaled predictions rounded to 1e-6), sorted by id: independent of row order."""
    import hashlib

    import numpy as np

    pred = np.round(np.asarray(predictions, dtype=np.float64), 6)
    rows = sorted(zip(ids, pred.tolist()))
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def row_abs_errors(task: Any, ids: list[str], y_true: Any, predictions: Any) -> list[float]:
    """Per-row MAE over the parameters scored on the row, in sorted-id order (rounded to 1e-6)."""
    from fxbench.metrics import row_errors

    err = row_errors(task, y_true, predictions)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return [round(float(err[i]), 6) for i in order]


def new_record(task: Any, *, model: str, submission: dict, seed: Any, data_seed: Any, source: str,
               manifest: dict, splits: dict, evaluation: Any, pred: Any, metrics: dict, config: dict,
               history: list, timing: dict, environment: dict, blind: bool = False,
               data_revision: Optional[str] = None, input: str = "wet") -> dict:
    """The one place a result record is assembled, for `run` and `score` alike (same keys, same order).

    ``evaluation`` (an ``fxbench.evaluation.EvalSet``) holds the rows that were scored: the training
    dataset's test split, or another source's rows; the record names both datasets. ``blind``: scored
    against a hidden answer key; ``data_revision``: the Hub revision of ``--data``; ``input``: the input
    track (fxbench/inputs.py). The predictions are kept as float32 (``encode_predictions``), and the hash
    and per-row errors are of exactly what is kept, so a later rescore reproduces them."""
    import platform
    from datetime import datetime, timezone

    import fxbench
    from fxbench.evaluation import condition

    test = evaluation.data
    other = evaluation.source is not None
    pred = stored_predictions(pred)
    return json_safe({
        "schema_version": SCHEMA_VERSION,
        "task": task.task, "task_version": task.version, "task_digest": task.digest(),
        "model": model, "submission": submission, "seed": seed, "data_seed": data_seed, "source": source,
        "dataset_fingerprint": manifest["fingerprint"],
        "eval_source": evaluation.source, "eval_split": evaluation.split,
        "eval_dataset_fingerprint": evaluation.manifest["fingerprint"] if other else None,
        "dataset_files_digest": task_files_digest(manifest["files"], task.task),
        "eval_dataset_files_digest": task_files_digest(evaluation.manifest["files"], task.task) if other else None,
        "condition": condition(manifest, evaluation.manifest), "input": input,
        "n_train": len(splits["train"]), "n_validation": len(splits["validation"]), "n_test": len(test),
        "param_units": {p.name: p.unit for p in task.parameters},
        "metrics": metrics,
        "predictions_sha256": predictions_sha256(test.ids, pred),
        "row_abs_errors": row_abs_errors(task, test.ids, test.y, pred),
        "predictions": encode_predictions(test.ids, pred),
        "config": config, "history": history,
        "timing": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in timing.items()},
        "fxbench_version": fxbench.__version__, "git_commit": git_commit(),
        "environment": {"python": platform.python_version(), "platform": platform.platform(), **environment},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "blind": blind,
        **({"data_revision": data_revision} if data_revision is not None else {}),
    })


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
    if version <= 3:  # 4 only adds fields with defaults and holds every field to the strict schema
        record["schema_version"] = version = 4
    if version == 4:  # 5 adds the input track (every earlier record was wet-only) and the kept predictions
        record.setdefault("input", "wet")
        record.setdefault("predictions", None)
        record["schema_version"] = version = 5
    if version == 5:  # 6 adds the digests of the datasets' files (fxbench.checksums.task_files_digest)
        record.setdefault("dataset_files_digest", None)
        record.setdefault("eval_dataset_files_digest", None)
        record["schema_version"] = 6
    env = record.get("environment")
    if isinstance(env, dict) and "data_revision" in env:  # an early placement: the field is top level now
        env = dict(env)
        revision = env.pop("data_revision")
        record["environment"] = env
        if record.get("data_revision") is None:
            record["data_revision"] = revision
    return record


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or inf replaced by None: JSON has neither, and a record is strict JSON
    (a diverged loss or an empty validation split would otherwise write NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


MAX_MODEL_NAME = 64


def check_model_name(name: str, fix: str = "rename the model") -> str:
    """A leaderboard name: printable text (no line breaks) of at most 64 characters."""
    problem = ("is empty" if not name else
               f"has {len(name)} characters, at most {MAX_MODEL_NAME} are allowed" if len(name) > MAX_MODEL_NAME else
               "holds a line break or another unprintable character" if not name.isprintable() else
               "starts or ends with a space" if name != name.strip() else "")
    if problem:
        raise FxbenchError(f"model name {name[:80]!r} {problem}; {fix}", exit_code=2)
    return name


def check_hyperparameters(hp: Any, model: str) -> dict:
    """``hp`` if it is a dict that strict JSON can hold (a record must; NaN and inf are not JSON)."""
    if not isinstance(hp, dict):
        raise FxbenchError(f"model {model}: hyperparameters() returned {type(hp).__name__}, not a dict; return a "
                           f"dict of plain values", exit_code=2)
    try:
        json.dumps(hp, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FxbenchError(f"model {model}: hyperparameters() is not JSON-serialisable ({exc}); return plain "
                           f"numbers, text, lists and dicts (no NaN or inf)", exit_code=2) from None
    return hp


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


def to_json(record: dict) -> str:
    """Strict JSON (no NaN, no inf) of a record that passes the schema: nothing is written that the
    leaderboard would reject."""
    check_record(upgrade_record(record), "the new record")
    return json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_record(record: dict, path: Path) -> Path:
    atomic_write_text(path, to_json(record))
    return Path(path)


def validate_record(record: Any, where: str) -> dict:
    """A record read from disk, upgraded to the current schema and held to it (``record_schema``)."""
    if not isinstance(record, dict):
        raise FxbenchError(f"{where}: a result record must be a JSON object, got {type(record).__name__}; "
                           f"regenerate it with `fxbench run`")
    version = record.get("schema_version", 1)
    if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
        raise FxbenchError(f"{where}: unknown schema_version {version!r} (this fxbench reads 1..{SCHEMA_VERSION}); "
                           f"upgrade fxbench")
    return check_record(upgrade_record(record), where).model_dump()


def read_record(path: Path, where: Optional[str] = None) -> dict:
    """One record file, parsed (a key given twice is an error; NaN or Infinity is one of the schema's,
    naming the field) and validated."""
    where = where or str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FxbenchError(f"{where}: not valid JSON ({exc}); fix or delete the file") from None
    return validate_record(data, where)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} appears twice")
        seen[key] = value
    return seen


def scan_records(results_dir: Path) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """Every ``*.json`` under ``results_dir``, sorted by path: (path, record) of those that pass the schema
    and (path, why) of those rejected. The leaderboard lists the rejected apart; it never ranks them."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FxbenchError(f"results folder {results_dir} does not exist; run `fxbench run` first or pass "
                           f"--results DIR", exit_code=2)
    good, rejected = [], []
    for path in sorted(results_dir.rglob("*.json")):
        try:
            good.append((path, read_record(path, path.relative_to(results_dir).as_posix())))
        except FxbenchError as exc:
            rejected.append((path, str(exc)))
    return good, rejected


def read_records(results_dir: Path) -> list[tuple[Path, dict]]:
    """(path, record) of every ``*.json`` under ``results_dir``, sorted by path, each checked and upgraded;
    a rejected one is an error naming it (for analysis, where a silently missing record would mislead)."""
    good, rejected = scan_records(results_dir)
    if rejected:
        raise FxbenchError(f"{Path(results_dir).as_posix()}/{rejected[0][1]}")
    return good
