"""Result records -> pandas tables: one row per record, then one row per task × condition × group × model.

Only records on the same task version and definition, training dataset, evaluation dataset and split are
comparable, so each task and evaluation condition has one current group (the installed definition; its
most used datasets) that is ranked, and every other group is listed apart rather than averaged in.
Rendering lives elsewhere (markdown.py, fxbench/plots.py); this module knows nothing of it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from fxbench.evaluation import TRACKS, base_condition, track  # TRACKS: also the page order
from fxbench.leaderboard.canonical import CANONICAL_SOURCES, find_digests
from fxbench.record_schema import row_mae
from fxbench.results import read_records, validate_record

N_BOOT = 2000  # bootstrap resamples for the 95% interval on test MAE
GROUP = ["task_version", "task_digest", "dataset_fingerprint", "eval_dataset_fingerprint", "eval_split"]
STAT = ["task", "condition", "group", "model"]  # one standings row
# Columns whose cells stay Python objects (an int seed must not turn into 0.0 beside a None).
OBJECT_COLUMNS = ("seed", "epochs", "n_test", "eval_source", "eval_dataset_fingerprint", "row_abs_errors")
COLUMNS = ["task", "task_version", "task_digest", "model", "seed", "condition", "source", "eval_source",
           "eval_split", "dataset_fingerprint", "eval_dataset_fingerprint", "mae", "mse", "grid_accuracy",
           "within_tolerance", "macro_f1", "rerender_skill", "chance_mae", "skill", "recon_l1", "identity_l1", "epochs", "epochs_note", "short", "n_test",
           "fxbench_version", "created_at", "params", "row_abs_errors", "dataset_files_digest", "eval_dataset_files_digest", "files_ok",
           "path", "group", "rankable", "installed"]
FIRST = ["task", "condition", "group", "rank", "model", "n_seeds", "mae_mean", "mae_std", "ci_low", "ci_high", "skill",
         "chance_mae", "task_version", "dataset_fingerprint", "eval_dataset_fingerprint", "eval_split",
         "source", "eval_source"]  # the standings' leading columns
Records = Union[pd.DataFrame, Iterable[dict]]


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _float(x: Any) -> float:
    """A finite number, or NaN: anything else is simply absent."""
    return float(x) if _num(x) else math.nan


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


@lru_cache(maxsize=1)
def paper_epochs() -> int:
    """The paper's training length, from the one place that defines it (imported late: no model code at import)."""
    from fxbench.models.base import TrainConfig

    return TrainConfig().epochs


def _label(r: Any) -> str:
    """How a record that came without a file is named in an error."""
    if not isinstance(r, dict):
        return "result record"
    return f"result record {r.get('task')!r}/{r.get('model')!r} seed {r.get('seed')!r}"


def _flat(r: dict, path: Optional[str]) -> dict[str, Any]:
    """One record as flat columns; per-parameter values become ``mae.<p>``, ``mae_units.<p>``,
    ``chance_mae.<p>`` and ``unit.<p>``."""
    m, cfg = r["metrics"], _dict(r["config"])
    epochs = cfg.get("epochs")
    chance = _float(m.get("chance_mae"))
    row = {
        "task": r["task"], "task_version": r["task_version"], "task_digest": r.get("task_digest"),
        "model": r["model"], "seed": r["seed"], "condition": track(r["condition"], r.get("input", "wet")),
        "source": str(r["source"]),
        "eval_source": r["eval_source"], "eval_split": r["eval_split"],
        "dataset_fingerprint": r["dataset_fingerprint"], "eval_dataset_fingerprint": r["eval_dataset_fingerprint"],
        "mae": row_mae(r), "mse": _float(m.get("mse")), "grid_accuracy": _float(m.get("grid_accuracy")),
        "within_tolerance": _float(m.get("within_tolerance")), "macro_f1": _float(m.get("macro_f1")),
        "rerender_skill": _float(_dict(m.get("rerender")).get("skill")),
        "chance_mae": chance, "skill": 1 - row_mae(r) / chance if chance else math.nan,
        "recon_l1": _float(_dict(m.get("reconstruction")).get("l1")),
        "identity_l1": _float(_dict(m.get("reconstruction")).get("identity_l1")),
        "epochs": epochs, "epochs_note": str(cfg.get("epochs_note") or "").strip(),
        "short": bool(_num(epochs) and epochs < paper_epochs()), "n_test": r.get("n_test"),
        "fxbench_version": str(r["fxbench_version"]), "created_at": str(r.get("created_at")),
        "params": tuple(_dict(m.get("per_param_mae_units"))), "row_abs_errors": r.get("row_abs_errors"),
        "dataset_files_digest": r.get("dataset_files_digest"),
        "eval_dataset_files_digest": r.get("eval_dataset_files_digest"), "files_ok": True,
        "path": path, "blind": r.get("blind") is True,
    }
    for prefix, values in (("mae", m.get("per_param_mae")), ("mae_units", m.get("per_param_mae_units")),
                           ("chance_mae", m.get("per_param_chance_mae"))):
        row.update({f"{prefix}.{p}": _float(v) for p, v in _dict(values).items()})
    row.update({f"unit.{p}": str(v) for p, v in _dict(r.get("param_units")).items()})
    return row


def _order(row: dict) -> tuple:
    """Input order must not matter: same records, same bytes."""
    return (row["model"], str(row["seed"]), row["created_at"], row["mae"], row["task"], row["condition"],
            row["task_version"], row["dataset_fingerprint"], row["eval_dataset_fingerprint"] or "",
            row["eval_split"], row["path"] or "")


def files_ok(row: dict, digests: Optional[Mapping[str, str]]) -> bool:
    """Whether a record was scored on the files the canonical build has, for each of its datasets that
    ``digests`` (fingerprint -> files digest, ``canonical.py``) lists; datasets it does not list pass."""
    if digests is None:
        return True
    pairs = ((row["dataset_fingerprint"], row["dataset_files_digest"]),
             (row["eval_dataset_fingerprint"], row["eval_dataset_files_digest"]))
    return all(fp not in digests or digest == digests[fp] for fp, digest in pairs if fp)


def frame(records: Records, paths: Optional[Sequence[Optional[str]]] = None,
          digests: Optional[Mapping[str, str]] = None) -> pd.DataFrame:
    """Records (dicts, upgraded to the current schema and held to it here) -> one row per record, in
    canonical order, with ``group``: 0 for the ranked current group of its task × condition, 1, 2, ... for
    the others (a task × condition whose every record departs from the installed task has no group 0).
    ``digests``: the canonical datasets' files digests; a record on a listed dataset whose files differ
    (or that names none) is in a group of its own, never ranked."""
    if isinstance(records, pd.DataFrame):
        return records
    records = list(records)
    paths = list(paths) if paths is not None else [None] * len(records)
    rows = []
    for r, path in zip(records, paths):
        row = _flat(validate_record(r, path or _label(r)), path)
        row["files_ok"] = files_ok(row, digests)
        rows.append(row)
    rows.sort(key=_order)
    extra = list(dict.fromkeys(k for row in rows for k in row if k not in COLUMNS))
    df = pd.DataFrame(rows, columns=[*COLUMNS[:-3], *extra])
    for col in OBJECT_COLUMNS:
        df[col] = pd.Series([row[col] for row in rows], index=df.index, dtype=object)
    empty = (pd.Series(dtype=int), pd.Series(dtype=bool), pd.Series(dtype=bool))
    df["group"], df["rankable"], df["installed"] = _groups(df) if len(df) else empty
    return df


@lru_cache(maxsize=None)
def canonical(task: str) -> dict[str, tuple[str, str]]:
    """Condition -> (training fingerprint, evaluation fingerprint or "") of the datasets this install builds
    by default for ``task``: the group ranked first, whatever else has more records. Empty for a task
    this install does not define."""
    from fxbench.dataset.build import fingerprint
    from fxbench.sources import open_source
    from fxbench.task import available_tasks, load_task

    if task not in available_tasks():
        return {}
    t = load_task(task)
    fp = {kind: fingerprint(t, open_source(spec, t, 0), 0) for kind, spec in CANONICAL_SOURCES.items()}
    return {f"{a}_to_{b}": (fp[a], "" if a == b else fp[b]) for a in fp for b in fp}


def _is_canonical(row: pd.Series) -> bool:
    want = canonical(row["task"]).get(base_condition(row["condition"]))
    return want == (row["dataset_fingerprint"], row["eval_dataset_fingerprint"]) and row["eval_split"] == "test"


def installed_definitions(tasks: Iterable[str]) -> dict[str, Optional[tuple[int, str]]]:
    """Task -> (version, digest) of its installed definition, or None for a task this install does not
    define (a broken task file is an error naming it, not a task skipped)."""
    from fxbench.task import available_tasks, load_task

    known = available_tasks()
    out: dict[str, Optional[tuple[int, str]]] = {}
    for t in tasks:
        task = load_task(t) if t in known else None
        out[t] = (task.version, task.digest()) if task is not None else None
    return out


def _groups(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(group, rankable, installed) per record. ``installed``: made with the task definition installed here,
    the same ``(task_version, task_digest)`` pair (any, for a task not installed here), so a forged
    ``task_version`` beside the public digest never ranks. A group is rankable when it is installed and its
    records carry their per-row errors (the MAE is checked against them; a record without them, schema 1,
    is listed apart). Within a task × condition: rankable first, then newest version, then the datasets
    this install builds by default (`canonical`), then most records, then the smallest fingerprints; with
    no rankable group, numbering starts at 1 (nothing ranked)."""
    keys = ["task", "condition", *GROUP, "files_ok", "has_rows"]
    key = df[keys[:-1]].assign(eval_dataset_fingerprint=df["eval_dataset_fingerprint"].fillna(""),
                               task_digest=df["task_digest"].fillna(""),
                               files_ok=df["files_ok"].astype(bool),
                               has_rows=[bool(rows) for rows in df["row_abs_errors"]])
    sizes = key.groupby(keys, sort=False).size().rename("n").reset_index()
    defined = installed_definitions(sorted(set(sizes["task"])))
    sizes["installed"] = [defined[t] is None or defined[t] == (v, d)
                          for t, v, d in zip(sizes["task"], sizes["task_version"], sizes["task_digest"])]
    sizes["rankable"] = sizes["installed"] & sizes["has_rows"] & sizes["files_ok"]
    sizes["canonical"] = sizes.apply(_is_canonical, axis=1) if len(sizes) else []
    sizes = sizes.sort_values(["task", "condition", "rankable", "task_version", "canonical", "n", *GROUP[1:],
                               "files_ok", "has_rows"],
                              ascending=[True, True, False, False, False, False, True, True, True, True, False,
                                         False],
                              kind="mergesort")
    sizes["group"] = sizes.groupby(["task", "condition"]).cumcount()
    first = sizes.groupby(["task", "condition"])["rankable"].transform("first")
    sizes["group"] += (~first.astype(bool)).astype(int)
    merged = key.merge(sizes, on=keys, how="left")
    return tuple(pd.Series(merged[c].to_numpy(), index=df.index, dtype=t)
                 for c, t in (("group", int), ("rankable", bool), ("installed", bool)))


def load_records(results_dir: Path) -> pd.DataFrame:
    """Every ``*.json`` record under ``results_dir`` (schema upgraded, checked), one row each, for analysis
    in pandas as for the page; a rejected record is an error naming its file."""
    found = read_records(results_dir)
    records, paths = [r for _, r in found], [p.as_posix() for p, _ in found]
    return frame(records, paths, find_digests(results_dir))


def _resample_means(errors: np.ndarray) -> np.ndarray:
    """(models, rows) errors -> (N_BOOT, models) means of bootstrap resamples of the rows.

    The resampled rows come from one ``default_rng(0)`` stream, identical for every model (as if each
    had its own fresh generator) and drawn once as counts per row; one product per model keeps each
    model's interval independent of which other models are present.
    """
    rng = np.random.default_rng(0)
    n = errors.shape[1]
    chunk = max(1, min(N_BOOT, 1_000_000 // n))
    parts = []
    for start in range(0, N_BOOT, chunk):
        c = min(chunk, N_BOOT - start)
        idx = rng.integers(0, n, size=(c, n)) + np.arange(c)[:, None] * n
        counts = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(np.float64)
        parts.append(np.stack([counts @ e for e in errors], axis=1) / n)
    return np.concatenate(parts)


def bootstrap_cis(models: Mapping[Hashable, Sequence[Optional[Sequence[float]]]]
                  ) -> dict[Hashable, Optional[tuple[float, float]]]:
    """Key (a model) -> 95% percentile interval on test MAE from its records' row errors (one list per
    record, seeds averaged row by row), or None when a record lacks them or their lengths differ.

    Pass every group's models at once: all vectors of one length share one resampling pass.
    """
    out: dict[Hashable, Optional[tuple[float, float]]] = {m: None for m in models}
    by_len: dict[int, list[tuple[Hashable, np.ndarray]]] = defaultdict(list)
    for model, rows in models.items():
        rows = list(rows)
        if rows and all(rows) and len({len(x) for x in rows}) == 1:
            by_len[len(rows[0])].append((model, np.mean(np.asarray(rows, dtype=np.float64), axis=0)))
    for n in sorted(by_len):
        names = [m for m, _ in by_len[n]]
        means = _resample_means(np.stack([v for _, v in by_len[n]]))
        lo, hi = np.percentile(means, [2.5, 97.5], axis=0)
        out.update({m: (float(a), float(b)) for m, a, b in zip(names, lo, hi)})
    return out


def join_distinct(values: Iterable[Any]) -> str:
    """Distinct values as text, shortest first (a column that should hold one value shows every one)."""
    return ", ".join(sorted({str(v) for v in values}, key=lambda s: (len(s), s)))


def _epochs_cell(values: Iterable[Any]) -> str:
    """Epochs per record; a run shorter than the paper's says so in the cell itself."""
    return join_distinct("-" if e is None else f"{e} (short)" if _num(e) and e < paper_epochs() else str(e)
                         for e in values)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The per-record numbers averaged over seeds: the fixed metrics, then the per-parameter MAEs."""
    return ["mae", "mse", "grid_accuracy", "within_tolerance", "macro_f1", "rerender_skill", "recon_l1",
            *[c for c in df.columns if c.startswith(("mae.", "mae_units."))]]


def standings(records: Records) -> pd.DataFrame:
    """One row per task × condition × group × model, ranked by mean test MAE (ties: name): mean and sample
    std over seeds of every metric, seeds, the bootstrap CI, skill against the group's chance, and the
    group's datasets; sorted task, condition (page order), group, rank."""
    df = frame(records)
    metrics = metric_columns(df)
    if df.empty:
        return pd.DataFrame(columns=[*FIRST, *[f"{c}_{s}" for c in metrics for s in ("mean", "std")]])
    grouped = df.groupby(STAT, sort=False)
    stats = grouped[metrics].agg(["mean", "std"])
    stats.columns = [f"{c}_{s}" for c, s in stats.columns]
    text = grouped.agg(n_seeds=("mae", "size"), short=("short", "any"), n_test=("n_test", join_distinct),
                       epochs=("epochs", _epochs_cell), fxbench_version=("fxbench_version", join_distinct),
                       source=("source", join_distinct),
                       eval_source=("eval_source", lambda s: join_distinct(v for v in s if v is not None)))
    keys = ["task", "condition", "group"]
    group = df.groupby(keys, sort=False).agg(
        chance_mae=("chance_mae", "mean"), task_version=("task_version", "first"),
        dataset_fingerprint=("dataset_fingerprint", "first"),
        eval_dataset_fingerprint=("eval_dataset_fingerprint", "first"), eval_split=("eval_split", "first"))
    st = stats.join(text).reset_index().merge(group.reset_index(), on=keys, how="left")
    st["condition_order"] = st["condition"].map(TRACKS.index)
    st = st.sort_values(["task", "condition_order", "group", "mae_mean", "model"], kind="mergesort")
    st["rank"] = st.groupby(keys, sort=False).cumcount() + 1
    chance = st["chance_mae"].where(st["chance_mae"] != 0)
    st["skill"] = 1 - st["mae_mean"] / chance
    cis = bootstrap_cis({key: list(rows) for key, rows in grouped["row_abs_errors"]})
    got = [cis[key] for key in zip(*(st[c] for c in STAT))]
    st["ci_low"] = [ci[0] if ci else math.nan for ci in got]
    st["ci_high"] = [ci[1] if ci else math.nan for ci in got]
    return st[[*FIRST, *[c for c in st.columns if c not in FIRST and c != "condition_order"]]].reset_index(drop=True)


def current(st: pd.DataFrame, condition: str) -> pd.DataFrame:
    """The ranked (current) group's rows of every task under one condition."""
    return st[(st["condition"] == condition) & (st["group"] == 0)]


def overview(st: pd.DataFrame, condition: str = "synth_to_synth") -> pd.DataFrame:
    """Model × task mean test MAE on each task's current group of ``condition`` (a track: NaN where
    missing), and whether any of the model's records there is short."""
    cur = current(st, condition)
    mae = cur.pivot(index="model", columns="task", values="mae_mean")
    short = cur.pivot(index="model", columns="task", values="short").eq(True)
    return pd.concat({"mae": mae, "short": short}, axis=1)


def transfer(st: pd.DataFrame) -> pd.DataFrame:
    """Model × task: synth → real mean MAE of each task's current group, and its ratio to the same model's
    real → real mean MAE (NaN where either is missing; never imputed)."""
    s2r = current(st, "synth_to_real").pivot(index="model", columns="task", values="mae_mean")
    r2r = current(st, "real_to_real").pivot(index="model", columns="task", values="mae_mean")
    ratio = (s2r / r2r.reindex_like(s2r)).where(lambda x: np.isfinite(x))
    return pd.concat({"mae": s2r, "ratio": ratio}, axis=1)


def standings_csv(records: Records) -> str:
    """The standings as CSV text: the same records give the same bytes, whatever their order."""
    return standings(records).to_csv(index=False, lineterminator="\n")
