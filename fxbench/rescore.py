"""`fxbench rescore`: recompute a record's metrics from the predictions it keeps, with this fxbench's metrics.

A metric added later (the re-render distance was one) then reaches every record without retraining: the
record's datasets are rebuilt or read from the cache, checked to be the ones it was scored on (by
fingerprint), and its metrics and per-row errors are computed again from its kept predictions. Everything
else (model, config, history, timing of the run) is the record's own. The file is replaced atomically.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from fxbench.errors import FxbenchError


def rescore_record(record: dict, where: str, *, data_dir: Optional[str] = None, data: Optional[str] = None,
                   progress: bool = True) -> dict:
    """``record`` (validated) with ``metrics``, ``row_abs_errors`` and ``timing.rerender_s`` made anew."""
    import numpy as np

    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.checksums import task_files_digest
    from fxbench.metrics import compute_metrics
    from fxbench.rerender import rerender_metrics
    from fxbench.results import SCHEMA_VERSION, decode_predictions, row_abs_errors
    from fxbench.runner import RunConfig, resolve_evaluation
    from fxbench.task import load_task

    if record.get("predictions") is None:
        raise FxbenchError(f"{where}: keeps no predictions (made before record schema 5), so it cannot be "
                           f"rescored; rerun it with `fxbench run` (or `fxbench score` for a predictions file)",
                           exit_code=2)
    if record.get("blind"):
        raise FxbenchError(f"{where}: was scored against a blind answer key; score its predictions again with "
                           f"`fxbench score --answers KEY`", exit_code=2)
    task = load_task(record["task"])
    if task.digest() != record.get("task_digest"):
        raise FxbenchError(f"{where}: was made with another definition of task {record['task']!r} than the "
                           f"installed one; rerun it on the installed task", exit_code=2)
    source = str(record["source"])
    if source.startswith("data:") and data is None:
        data = source[len("data:"):]
        source = "synth"
    path, manifest, _ = resolve_dataset(task, source, record.get("data_seed") or 0, data_dir, data,
                                        progress=progress)
    if manifest["fingerprint"] != record["dataset_fingerprint"]:
        raise FxbenchError(f"{where}: was trained on dataset {record['dataset_fingerprint'][:12]}, but its source "
                           f"now builds {manifest['fingerprint'][:12]}; pass --data FOLDER holding the record's "
                           f"dataset", exit_code=2)
    splits = load_splits(path, task)
    cfg = RunConfig(task=task.task, model=record["model"], source=source, data_seed=record.get("data_seed") or 0,
                    data_dir=data_dir, data=data, eval_source=record.get("eval_source"),
                    eval_split=record.get("eval_split", "test"))
    cfg.train.progress = progress
    evaluation = resolve_evaluation(task, cfg, path, manifest, splits)
    want = record.get("eval_dataset_fingerprint")
    if want and evaluation.manifest["fingerprint"] != want:
        raise FxbenchError(f"{where}: was scored on dataset {want[:12]}, but --eval-source {cfg.eval_source} now "
                           f"builds {evaluation.manifest['fingerprint'][:12]}; it cannot be rescored here",
                           exit_code=2)
    test = evaluation.data
    ids, pred = decode_predictions(record["predictions"])
    row = {i: k for k, i in enumerate(test.ids)}
    if sorted(ids) != sorted(test.ids):
        raise FxbenchError(f"{where}: its predictions are for other rows than the evaluation split's; it "
                           f"cannot be rescored", exit_code=2)
    order = np.array([row[i] for i in ids])
    y, clip_ids = test.y[order], [test.clip_ids[k] for k in order]
    metrics = compute_metrics(task, y, pred)
    t = time.perf_counter()
    metrics["rerender"] = rerender_metrics(task, evaluation.path, ids, clip_ids, pred, splits["train"].y.mean(axis=0))
    out = dict(record)
    if record["metrics"].get("reconstruction") is not None:  # the dry estimate is not kept: carried over
        metrics["reconstruction"] = record["metrics"]["reconstruction"]
    # the files it is rescored on are the ones its digests now name: metrics and digests come from one dataset
    other = evaluation.source is not None
    out.update(dataset_files_digest=task_files_digest(manifest["files"], task.task),
               eval_dataset_files_digest=task_files_digest(evaluation.manifest["files"], task.task) if other else None)
    out.update(schema_version=SCHEMA_VERSION, metrics=metrics, row_abs_errors=row_abs_errors(task, ids, y, pred),
               timing={**record["timing"], "rerender_s": round(time.perf_counter() - t, 3)})
    return out


def rescore_paths(paths: list[Path], *, data_dir: Optional[str] = None, data: Optional[str] = None,
                  progress: bool = True) -> tuple[list[tuple[Path, dict, dict]], list[str]]:
    """Rescore every record file in ``paths`` (folders: every ``*.json`` under them, records only); return
    (path, old, new) of those rescored and one line per file that could not be, in path order. A failure
    leaves its file as it was and the others go on."""
    from fxbench.results import read_record, write_record

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.json"))
        elif p.is_file():
            files.append(p)
        else:
            raise FxbenchError(f"{p} does not exist; give record files or folders of them", exit_code=2)
    done, failed = [], []
    for f in files:
        try:
            old = read_record(f)
            new = rescore_record(old, str(f), data_dir=data_dir, data=data, progress=progress)
            write_record(new, f)
            done.append((f, old, new))
        except FxbenchError as exc:
            failed.append(str(exc))
    return done, failed
