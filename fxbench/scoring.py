"""`fxbench score`: turn a file of test-split predictions made elsewhere into a result record.

The file is CSV (a header row, then one row per test example) or JSON (a list of objects, or
``{"predictions": [...]}``). It holds an ``id`` column plus, for every task parameter, either
``<name>`` (physical units, e.g. ``bit_depth`` in bits) or ``<name>_scaled`` ([0, 1]); every
parameter uses the same convention. Each test id appears exactly once; row order is free.

Values outside a parameter's range are not an error: they are clipped to the range (to [0, 1]
once scaled) and a warning says how many were clipped and names the first rows: true values
always lie in the range, so clipping only lowers the error and any model could do it itself.

Any other problem is a FxbenchError with exit code 2 whose one-line message names the problem,
the first offending rows (ids or line numbers, and the submitted values) and the fix. Messages
never contain test labels: the checks see only the file and the test ids, never ``test.y``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fxbench.errors import FxbenchError
from fxbench.task import TaskConfig, load_task

SHOW = 3  # offending rows quoted in a message


def _fail(msg: str) -> FxbenchError:
    return FxbenchError(" ".join(msg.split("\n")), exit_code=2)


def _show(value: Any) -> str:
    """A submitted value as quoted in a message: repr (one line), cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _first(items: list[str]) -> str:
    more = f", ... ({len(items)} in all)" if len(items) > SHOW else ""
    return ", ".join(items[:SHOW]) + more


def _expected(task: TaskConfig) -> str:
    phys = ", ".join(task.param_names)
    scaled = ", ".join(f"{n}_scaled" for n in task.param_names)
    return f"expected id and {phys} (physical units) or {scaled} ([0, 1])"


def _parse_csv(path: Path, text: str) -> tuple[list[str], list[tuple[str, dict]]]:
    """(header, [(where, row)]); a ragged or unparsable row is an error naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise _fail(f"{path}: the file is empty; write a header row (id,...) and one row per test id")
        header = [c.strip() for c in header]
        rows, ragged = [], []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            where = f"line {reader.line_num}"
            if len(cells) != len(header):
                ragged.append(f"{where} has {len(cells)} fields")
            rows.append((where, dict(zip(header, (c.strip() for c in cells)))))
    except csv.Error as exc:
        raise _fail(f"{path}: not valid CSV (line {reader.line_num}: {exc}); write plain comma-separated "
                    f"values with a header row") from None
    if ragged:
        raise _fail(f"{path}: malformed CSV, the header has {len(header)} fields but {_first(ragged)}; "
                    f"give every row one value per header column")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise _fail(f"{path}: column {dup[0]!r} appears twice in the header; keep one")
    return header, rows


class _KeyedObject(dict):
    """A JSON object that remembers keys given twice (``json`` would silently keep the last value)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(k for k, _ in pairs)
        self.twice = [k for k, _ in pairs if counts[k] > 1][:1]


def _parse_json(path: Path, text: str) -> tuple[list[str], list[tuple[str, dict]]]:
    """(keys of the items, [(where, item)]) from a list of objects or {"predictions": [...]}."""
    try:
        data = json.loads(text, object_pairs_hook=_KeyedObject)
    except ValueError as exc:
        raise _fail(f"{path}: not valid JSON ({exc}); fix the syntax or write CSV") from None
    if isinstance(data, dict) and data.twice:
        raise _fail(f"{path}: key {data.twice[0]!r} appears twice in the top-level object; keep one")
    if isinstance(data, dict) and set(data) == {"predictions"}:
        data = data["predictions"]
    if not isinstance(data, list):
        got = f"an object with keys {_first(sorted(map(repr, data)))}" if isinstance(data, dict) else \
            type(data).__name__
        raise _fail(f"{path}: JSON must be a list of objects or {{\"predictions\": [...]}}, got {got}; "
                    f"wrap the rows in a list")
    bad = [f"item {i} is {type(d).__name__}" for i, d in enumerate(data) if not isinstance(d, dict)]
    if bad:
        raise _fail(f"{path}: every prediction must be a JSON object, but {_first(bad)}; write "
                    f"{{\"id\": ..., <parameter>: ...}} per test row")
    twice = [f"item {i} ({_show(d.get('id'))}) has key {d.twice[0]!r} twice" for i, d in enumerate(data) if d.twice]
    if twice:
        raise _fail(f"{path}: duplicate keys, {_first(twice)}; give each key once per object (JSON keeps only "
                    f"the last)")
    keys = list(dict.fromkeys(k for d in data for k in d))
    return keys, [(f"item {i}", d) for i, d in enumerate(data)]


def _units(path: Path, columns: list[str], task: TaskConfig) -> tuple[str, list[str]]:
    """("physical" | "scaled", the value column of each parameter), or an error naming the columns."""
    expected = _expected(task)
    if "id" not in columns:
        raise _fail(f"{path}: no 'id' column (found {', '.join(map(repr, columns))}); {expected}")
    known = {"id"} | {n for p in task.param_names for n in (p, f"{p}_scaled")}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise _fail(f"{path}: unknown column {unknown[0]!r}; {expected}")
    kinds = {}
    for p in task.param_names:
        has = [c for c in (p, f"{p}_scaled") if c in columns]
        if not has:
            raise _fail(f"{path}: column for parameter {p!r} missing; {expected}")
        if len(has) == 2:
            raise _fail(f"{path}: mixed units, both {p!r} and '{p}_scaled' given; keep one; {expected}")
        kinds[has[0]] = "scaled" if has[0].endswith("_scaled") else "physical"
    if len(set(kinds.values())) > 1:
        by = {u: ", ".join(c for c, k in kinds.items() if k == u) for u in ("physical", "scaled")}
        raise _fail(f"{path}: mixed units, {by['physical']} physical but {by['scaled']} scaled; give "
                    f"every parameter in the same convention; {expected}")
    return next(iter(kinds.values())), list(kinds)


# A plain decimal number, as written in CSV. Python's float() is looser: it reads "1_6" as 16 and
# non-ASCII digits too, which would score a typo as a prediction.
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _number(value: Any, is_json: bool) -> Optional[float]:
    """The float a cell holds (NaN and inf included, for their own message), or None when it is not a
    number (JSON wants real numbers, not text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer too large for a float
            return math.inf
    if is_json or not isinstance(value, str) or not (_DECIMAL.fullmatch(value) or _NON_FINITE.fullmatch(value)):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def read_predictions(path: str | Path, task: TaskConfig) -> tuple[list[str], np.ndarray, str]:
    """(ids, values (n, n_params) as submitted, "physical" | "scaled") from a CSV or JSON file."""
    path = Path(path)
    if not path.is_file():
        raise _fail(f"predictions file {path} not found{' (it is a folder)' if path.is_dir() else ''}; "
                    f"check the path")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{path}: cannot read the file ({type(exc).__name__}: {exc}); save it as UTF-8 "
                    f"text") from None
    if not text.strip():
        raise _fail(f"{path}: the file is empty; write a header row (id,...) and one row per test id")
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip()[0] in "[{")
    columns, rows = (_parse_json if is_json else _parse_csv)(path, text)
    units, value_cols = _units(path, columns, task)
    if not rows:
        raise _fail(f"{path}: no prediction rows; give one row per test id")
    missing = [f"{w} lacks {c!r}" for w, r in rows for c in ("id", *value_cols) if c not in r]
    if missing:
        raise _fail(f"{path}: incomplete rows, {_first(missing)}; {_expected(task)} in every row")
    bad_ids = [f"{w} ({_show(r['id'])})" for w, r in rows if not isinstance(r["id"], str) or not r["id"]]
    if bad_ids:
        raise _fail(f"{path}: ids must be non-empty text, but {_first(bad_ids)}; copy the test split's ids")
    ids = [r["id"] for _, r in rows]
    values = np.full((len(rows), len(value_cols)), np.nan)
    non_numeric, non_finite = [], []
    for i, (where, row) in enumerate(rows):
        for j, col in enumerate(value_cols):
            v = _number(row[col], is_json)
            label = f"{where} id {row['id']!r} {col}={_show(row[col])}"
            if v is None:
                non_numeric.append(label)
            elif not math.isfinite(v):
                non_finite.append(label)
            else:
                values[i, j] = v
    if non_numeric:
        raise _fail(f"{path}: non-numeric values, {_first(non_numeric)}; write plain numbers"
                    f"{' (JSON numbers, not strings)' if is_json else ''}")
    if non_finite:
        raise _fail(f"{path}: NaN or inf values, {_first(non_finite)}; every prediction must be a finite number")
    seen: dict[str, list[str]] = {}
    for where, row in rows:
        seen.setdefault(row["id"], []).append(f"{where} ({', '.join(_show(row[c]) for c in value_cols)})")
    dups = [f"{i!r} on {' and '.join(w)}" for i, w in seen.items() if len(w) > 1]
    if dups:
        raise _fail(f"{path}: duplicate ids, {_first(dups)}; give each test id exactly one row")
    return ids, values, units


def align_predictions(task: TaskConfig, test_ids: list[str], ids: list[str], values: np.ndarray,
                      units: str) -> tuple[np.ndarray, list[str]]:
    """Scaled predictions (n_test, n_params) in test order, clipped to [0, 1], and warnings.

    Only the test ids are taken, never their labels, so no message here can reveal one.
    """
    values = np.asarray(values, dtype=np.float64)
    row = {i: k for k, i in enumerate(ids)}
    if len(row) != len(ids):
        dup = [repr(i) for i, c in Counter(ids).items() if c > 1]
        raise _fail(f"duplicate ids, {_first(dup)}; give each test id exactly one row")
    wanted = set(test_ids)
    unknown = [i for i in ids if i not in wanted]
    if unknown:
        hint = (" (none match: was it made for another --source or --data-seed?)" if len(unknown) == len(ids)
                else "")
        raise _fail(f"{_n(len(unknown), 'id')} not in the test split of {task.task}{hint}, first "
                    f"{_first([repr(i) for i in unknown])}; predict only the test split's ids")
    missing = [i for i in test_ids if i not in row]
    if missing:
        raise _fail(f"{len(missing)} of {_n(len(test_ids), 'test id')} without a prediction, first "
                    f"{', '.join(map(repr, missing[:SHOW]))}; predict every row of the test split")
    submitted = values[[row[i] for i in test_ids]]
    scaled = submitted.copy()
    for j, p in enumerate(task.parameters if units == "physical" else ()):
        scaled[:, j] = p.scale(submitted[:, j])
    warnings = []
    outside = (scaled < -1e-9) | (scaled > 1 + 1e-9)
    if outside.any():
        names = [f"{p.name}_scaled" if units == "scaled" else p.name for p in task.parameters]
        ranges = ", ".join(f"{n} [0, 1]" if units == "scaled" else f"{n} [{p.range[0]:g}, {p.range[1]:g}] {p.unit}"
                           for n, p in zip(names, task.parameters))
        rows = [f"id {test_ids[r]!r} {names[j]}={submitted[r, j]:g}" for r, j in zip(*np.nonzero(outside))]
        warnings.append(f"clipped {_n(len(rows), 'value')} outside the parameter range ({ranges}) to the "
                        f"range: {_first(rows)}")
    return np.clip(scaled, 0.0, 1.0), warnings


def write_predictions(path: Path, task: TaskConfig, ids: list[str], scaled: np.ndarray) -> Path:
    """A predictions file this module reads back: ``id`` and ``<param>_scaled``, exact floats, atomically."""
    from fxbench.results import atomic_write_text

    scaled = np.asarray(scaled, dtype=np.float64).reshape(len(ids), len(task.parameters))
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", *[f"{p}_scaled" for p in task.param_names]])
    w.writerows([i, *map(repr, map(float, row))] for i, row in zip(ids, scaled))
    atomic_write_text(Path(path), out.getvalue())
    return Path(path)


def score_file(task: str, predictions: str | Path, *, name: str | None = None, source: str = "synth",
               data_seed: int = 0, data_dir: str | None = None, progress: bool = True,
               eval_source: str | None = None, eval_split: str = "test",
               clips_per_recording: int | None = None, data: str | None = None,
               answers: str | Path | None = None, input: str = "wet") -> tuple[dict, list[str]]:
    """Return (result record, warnings); the file is checked before the dataset is built or loaded.

    With ``eval_source`` the predictions are for that source's rows (its test split, or ``all``), and
    ``source`` names what the model was trained on (recorded, and checked not to share audio with them).
    ``data`` is a built folder (or Hub repo id) to score on instead of building one; a blind folder's test
    split is scored against its answer key ``answers``, and the record says ``blind: true``. ``input`` is the
    track the predictions were made on (fxbench/inputs.py): recorded, so that it is ranked with its own."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.evaluation import check_eval_split
    from fxbench.inputs import check_input
    from fxbench.metrics import compute_metrics
    from fxbench.rerender import rerender_metrics
    from fxbench.results import check_model_name, new_record, stored_predictions
    from fxbench.runner import RunConfig, resolve_evaluation

    started = time.perf_counter()
    cfg: TaskConfig = load_task(task)
    check_eval_split(eval_split, eval_source)
    check_input(input)
    path = Path(predictions)
    check_model_name(name or path.stem, "pass --name NAME")
    ids, values, units = read_predictions(path, cfg)
    ds_path, manifest, build_s = resolve_dataset(cfg, source, data_seed, data_dir, data=data, progress=progress,
                                                 clips_per_recording=clips_per_recording)
    blind = _check_blind(manifest, data, answers, eval_source)
    t = time.perf_counter()
    splits = load_splits(ds_path, cfg)
    run_cfg = RunConfig(task=task, model=name or path.stem, source=source, data_seed=data_seed, data_dir=data_dir,
                        data=data, eval_source=eval_source, eval_split=eval_split,
                        clips_per_recording=clips_per_recording)
    run_cfg.train.progress = progress
    evaluation = resolve_evaluation(cfg, run_cfg, ds_path, manifest, splits)
    if blind:
        from fxbench.dataset.answers import load_targets

        y, grid_index = load_targets(Path(answers), cfg, manifest, evaluation.data.ids)
        evaluation.data = replace(evaluation.data, y=y, grid_index=grid_index)
        splits = {**splits, "test": evaluation.data}
    load_s = time.perf_counter() - t
    test = evaluation.data
    t = time.perf_counter()
    try:
        pred, warnings = align_predictions(cfg, test.ids, ids, values, units)
    except FxbenchError as exc:
        raise _fail(f"{path}: {exc}") from None
    warnings = [f"{path}: {w}" for w in warnings]
    pred = stored_predictions(pred)  # scored exactly as the record keeps them
    metrics = compute_metrics(cfg, test.y, pred)
    r = time.perf_counter()
    metrics["rerender"] = rerender_metrics(cfg, evaluation.path, test.ids, test.clip_ids, pred,
                                           splits["train"].y.mean(axis=0))
    rerender_s = time.perf_counter() - r
    score_s = time.perf_counter() - t
    record = new_record(
        cfg, model=name or path.stem, submission={"kind": "predictions", "spec": path.name, "units": units},
        seed=None, data_seed=manifest.get("seed", data_seed), source=source if data is None else f"data:{data}",
        manifest=manifest, splits=splits, evaluation=evaluation,
        pred=pred,
        metrics=metrics, config={"predictions_file": path.name, "units": units}, history=[],
        timing={"build_s": build_s, "load_s": load_s, "score_s": score_s, "rerender_s": rerender_s,
                "total_s": time.perf_counter() - started, "dataset_cached": build_s is None},
        environment={}, blind=blind, data_revision=_data_revision(data), input=check_input(input))
    return record, warnings


def _data_revision(data: str | None) -> str | None:
    """The Hub commit ``--data`` was read at (None for a local folder), so the record names what it scored."""
    if data is None:
        return None
    from fxbench.dataset.hub import resolve_data

    return resolve_data(data).revision  # resolved once per process: the commit the rows came from


def _check_blind(manifest: dict, data: str | None, answers: str | Path | None, eval_source: str | None) -> bool:
    """Whether the test split is scored against an answer key; a key without a blind folder, or a blind
    folder without its key, is an error before anything is scored."""
    blind = manifest.get("blind") is True and not eval_source
    if answers is not None and not blind:
        if eval_source:
            raise _fail("--answers scores a blind folder's own test split; drop --eval-source (or --answers)")
        where = f"--data {data}" if data else "the dataset built from --source"
        raise _fail(f"--answers is for a blind dataset folder (`fxbench data build --blind`), but {where} has its "
                    f"test targets; drop --answers")
    if blind and answers is None:
        raise _fail(f"--data {data} is blind (its test targets are withheld); pass --answers KEY, the answer key "
                    f"written by `fxbench data build --blind`")
    return blind
