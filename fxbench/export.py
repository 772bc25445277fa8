"""The leaderboard's ranked results in the files the Hugging Face Hub reads (https://huggingface.co/docs/hub/eval-results).

- ``eval.yaml``: carried by the benchmark dataset repo; names the benchmark and lists its tasks, each one
  leaderboard on the Hub.
- ``models/<model>/.eval_results/<task>.yaml``: carried by a model repo; one entry per Hub task, written
  with huggingface_hub's ``EvalResultEntry``.
- ``models/<model>/model-index.md``: the legacy ``model-index`` front matter for a model card, written with
  huggingface_hub's ``ModelCardData``/``EvalResult``, to merge into the model's README.md.

A Hub task carries one value, so every fxbench task × evaluation condition is a Hub task for the test MAE
on scaled parameters (`<task>.<condition>`), and each parameter's MAE in its unit is one more
(`<task>.<condition>.<param>`). Only the records the leaderboard ranks are exported: each task ×
condition's current group, mean over seeds as on the page.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict

from fxbench.errors import FxbenchError

BENCHMARK_ID = "fxbench/fxbench"  # the benchmark dataset repo that carries eval.yaml; --benchmark-id changes it
FRAMEWORK = "fxbench"
TASK_TYPE = "audio-classification"  # the Hub task tag closest to parameter estimation; the dataset card uses it too
PRETTY = {"synth_to_synth": "synth → synth", "real_to_real": "real → real", "synth_to_real": "synth → real",
          "real_to_synth": "real → synth"}
PRETTY.update({f"{c}_paired": f"{p}, paired input" for c, p in list(PRETTY.items())})
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_DATA = re.compile(r"^data:([A-Za-z0-9][\w.-]*/[\w.-]+)(?:@([^\s@]+))?$")  # `--data ORG/NAME[@REV]`

DESCRIPTION = " ".join("""
fxbench: blind estimation of audio-effect parameters (bit depth, sample rate, delay time, limiter threshold and
release) from processed guitar audio. Each task id is `<task>.<condition>`, valued by the test MAE on the
parameters scaled to [0, 1], or `<task>.<condition>.<parameter>`, valued by that parameter's test MAE in its
own unit; lower is better for both. Conditions: synth_to_synth (trained and tested on the synthetic source),
real_to_real, synth_to_real (trained on synth, scored on real recordings: the transfer score) and
real_to_synth. Each value is the mean over the model's seeds on one dataset, named by its fingerprint in the
result's notes.""".split())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EvalTask(_Strict):
    id: str
    config: str
    split: str


class EvalYaml(_Strict):
    """The benchmark's eval.yaml, as the Hub's specification defines it (name, description, framework, tasks)."""

    name: str
    description: str
    evaluation_framework: str
    tasks: list[EvalTask]


@dataclass(frozen=True)
class Ranked:
    """One leaderboard row: a model on one task × condition (its ranked group), over its seeds."""

    task: str
    condition: str
    model: str
    seeds: int
    mae: float
    mae_std: float
    per_param: dict[str, tuple[float, str]]  # name -> (MAE in its unit, unit)
    task_version: int
    dataset_fingerprint: str
    eval_dataset_fingerprint: Optional[str]
    source: str
    eval_source: Optional[str]
    split: str  # the Hub split the rows come from
    date: str
    blind: bool
    epochs: str
    short: bool

    @property
    def task_id(self) -> str:
        return f"{self.task}.{self.condition}"

    @property
    def hub_dataset(self) -> Optional[str]:
        """The Hub dataset the model trained on, when its record says so (`fxbench run --data ORG/NAME[@REV]`)."""
        found = _HUB_DATA.match(self.source)
        return found.group(1) if found else None

    @property
    def hub_revision(self) -> Optional[str]:
        """The branch, tag or commit of that Hub dataset, when ``--data`` named one."""
        found = _HUB_DATA.match(self.source)
        return found.group(2) if found else None


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def ranked_results(results_dir: Path) -> tuple[list[Ranked], list[str]]:
    """Every ranked leaderboard row of the records under ``results_dir``, in page order, and the one-line
    reason of each file rejected (skipped, as the leaderboard lists it apart and never ranks it)."""
    from fxbench.leaderboard.canonical import find_digests
    from fxbench.leaderboard.standings import frame, join_distinct, standings
    from fxbench.results import scan_records

    found, bad = scan_records(results_dir)
    rejected = [why for _, why in bad]
    df = frame([r for _, r in found], [p.as_posix() for p, _ in found], find_digests(results_dir))
    if df.empty:
        return [], rejected
    st = standings(df)
    st = st[st["group"] == 0]
    keys = ["task", "condition", "group", "model"]
    per = df.groupby(keys, sort=False)
    out = []
    for row in st.to_dict("records"):
        recs = per.get_group(tuple(row[k] for k in keys))
        params = dict.fromkeys(p for ps in recs["params"] for p in ps)
        per_param = {p: (float(row[f"mae_units.{p}_mean"]), _unit(recs, p)) for p in params
                     if _finite(row.get(f"mae_units.{p}_mean"))}
        evals = row["eval_dataset_fingerprint"]
        out.append(Ranked(
            task=row["task"], condition=row["condition"], model=row["model"], seeds=int(row["n_seeds"]),
            mae=float(row["mae_mean"]), mae_std=float(row["mae_std"]), per_param=per_param,
            task_version=int(row["task_version"]), dataset_fingerprint=row["dataset_fingerprint"],
            eval_dataset_fingerprint=evals or None, source=str(row["source"]),
            eval_source=row["eval_source"] or None,
            split="test" if row["eval_split"] == "test" else "train+validation+test",
            date=max(str(c) for c in recs["created_at"]), blind="blind" in recs and bool(recs["blind"].all()),
            epochs=join_distinct(e for e in recs["epochs"] if e is not None), short=bool(row["short"])))
    return out, rejected


def _unit(recs, param: str) -> str:
    """The parameter's unit as the records give it (the last one's), or "" when they do not."""
    got = recs[f"unit.{param}"].dropna() if f"unit.{param}" in recs else ()
    return str(got.iloc[-1]) if len(got) else ""


def _notes(r: Ranked, what: str) -> str:
    seeds = f"mean of {r.seeds} seeds (std {r.mae_std:.4f})" if r.seeds > 1 and _finite(r.mae_std) else \
        f"{r.seeds} seed"
    parts = [f"fxbench {r.task} v{r.task_version}, {PRETTY[r.condition]}: {what} (lower is better)", seeds,
             f"trained on source {r.source}" + (f" (Hub dataset {r.hub_dataset}"
                                                f"{f' at {r.hub_revision}' if r.hub_revision else ''})"
                                                if r.hub_dataset else ""),
             f"dataset fingerprint {r.dataset_fingerprint}"]
    if r.eval_dataset_fingerprint:
        parts.append(f"scored on source {r.eval_source}, dataset fingerprint {r.eval_dataset_fingerprint}")
    if r.split != "test":
        parts.append("scored on every row of the evaluation source")
    if r.blind:
        parts.append("scored blind (test targets withheld from the runner)")
    if r.short:
        parts.append(f"trained {r.epochs} epochs, not the paper's protocol")
    return "; ".join(parts)


def eval_results_entries(rows: list[Ranked], benchmark_id: str) -> list[dict]:
    """The `.eval_results/*.yaml` content for one model and task: one entry per Hub task."""
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    entries = []
    for r in rows:
        entries.append(EvalResultEntry(dataset_id=benchmark_id, task_id=r.task_id, value=round(r.mae, 6), date=r.date,
                                       notes=_notes(r, "test MAE on parameters scaled to [0, 1]")))
        entries += [EvalResultEntry(dataset_id=benchmark_id, task_id=f"{r.task_id}.{p}", value=round(v, 6),
                                    date=r.date, notes=_notes(r, f"test MAE of {p} in {unit or 'its unit'}"))
                    for p, (v, unit) in r.per_param.items()]
    return eval_result_entries_to_yaml(entries)


def model_index_card(model: str, rows: list[Ranked], benchmark_id: str) -> str:
    """A model card holding only the `model-index` front matter, parsed back by huggingface_hub's ModelCard.

    The model-index keys a result by dataset, config and split only, so the config is the Hub task id
    (`<task>.<condition>`): the conditions of one task would otherwise merge into one result."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    results = []
    for r in rows:
        dataset = {"dataset_type": r.hub_dataset or benchmark_id, "dataset_name": f"fxbench {r.task} ({PRETTY[r.condition]})",
                   "dataset_config": r.task_id, "dataset_split": r.split, "dataset_revision": r.hub_revision,
                   "dataset_args": {k: v for k, v in (("fingerprint", r.dataset_fingerprint), ("source", r.source),
                                                      ("eval_fingerprint", r.eval_dataset_fingerprint),
                                                      ("eval_source", r.eval_source),
                                                      ("task_version", r.task_version)) if v is not None}}
        task = {"task_type": TASK_TYPE, "task_name": f"audio-effect parameter estimation ({r.task})"}
        results.append(EvalResult(**task, **dataset, metric_type="mae", metric_value=round(r.mae, 6),
                                  metric_name="test MAE (parameters scaled to [0, 1])", metric_args={"seeds": r.seeds}))
        results += [EvalResult(**task, **dataset, metric_type="mae", metric_value=round(v, 6),
                               metric_name=f"test MAE {p} ({unit})" if unit else f"test MAE {p}",
                               metric_args={"seeds": r.seeds}) for p, (v, unit) in r.per_param.items()]
    data = ModelCardData(model_name=model, eval_results=results, tags=["fxbench"])
    body = (f"Results of `{model}` on the fxbench leaderboard, exported by `fxbench export hub-results`. Merge this "
            f"front matter into the model's README.md; `.eval_results/` beside it holds the same results in the Hub's "
            f"newer format.\n")
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def eval_yaml(rows: list[Ranked]) -> dict:
    """The benchmark's eval.yaml: every Hub task the exported results use, in page order."""
    tasks: dict[str, EvalTask] = {}
    for r in rows:
        for tid in (r.task_id, *[f"{r.task_id}.{p}" for p in r.per_param]):
            tasks.setdefault(tid, EvalTask(id=tid, config=r.task, split=r.split))
    spec = EvalYaml(name="fxbench", description=DESCRIPTION, evaluation_framework=FRAMEWORK, tasks=list(tasks.values()))
    return spec.model_dump()


def _dump(value) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=120)


def hub_files(rows: list[Ranked], benchmark_id: str) -> dict[Path, str]:
    """Relative path -> text of every exported file."""
    from fxbench.destination import slug

    files = {Path("eval.yaml"): _dump(eval_yaml(rows))}
    models: dict[str, list[Ranked]] = {}
    for r in rows:
        models.setdefault(r.model, []).append(r)
    owner: dict[str, str] = {}
    for model, mine in models.items():
        name = slug(model) or "model"
        if owner.setdefault(name, model) != model:
            raise FxbenchError(f"models {owner[name]!r} and {model!r} would share the folder models/{name}; rename "
                               f"one (--name on `fxbench score`) and export again", exit_code=2)
        for task in dict.fromkeys(r.task for r in mine):
            entries = eval_results_entries([r for r in mine if r.task == task], benchmark_id)
            files[Path("models", name, ".eval_results", f"{slug(task)}.yaml")] = _dump(entries)
        files[Path("models", name, "model-index.md")] = model_index_card(model, mine, benchmark_id)
    return files


def export_hub_results(results_dir: Path, out: Path, *, benchmark_id: str = BENCHMARK_ID,
                       overwrite: bool = False) -> tuple[list[Path], list[str]]:
    """Write the Hub files of every ranked result under ``out``; each file atomically, none replaced unless
    ``overwrite``. Returns the paths written and the reason of each record file skipped as rejected."""
    from fxbench.results import atomic_write_text

    if not _REPO_ID.match(benchmark_id):
        raise FxbenchError(f"--benchmark-id {benchmark_id!r} must look like ORG/NAME (the benchmark dataset repo)",
                           exit_code=2)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FxbenchError(f"--out {out} is a file; give a folder to write the Hub files into", exit_code=2)
    rows, rejected = ranked_results(Path(results_dir))
    if not rows:
        why = f" ({len(rejected)} rejected: {rejected[0]})" if rejected else ""
        raise FxbenchError(f"{results_dir} holds no ranked result records{why}; run `fxbench run` first",
                           exit_code=2)
    files = {out / rel: text for rel, text in hub_files(rows, benchmark_id).items()}
    there = [p for p in files if p.exists()]
    if there and not overwrite:
        raise FxbenchError(f"{there[0]} already exists ({len(there)} of the {len(files)} files to write do); pass "
                           f"--overwrite to replace them, or pick another --out", exit_code=2)
    for path, text in files.items():
        atomic_write_text(path, text)
    return list(files), rejected
