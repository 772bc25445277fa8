"""Sweeps: every task x model x seed as an independent run, on any executor, resumable.

Everything is checked before anything starts (tasks, models, input, the results folder); the datasets are
built once, by the caller, and shared through the dataset cache. Each run is a job that trains once and
writes one record per evaluation (its own test split or ``eval_source``'s, then each of ``also_eval``) under
a name fixed by what was scored on what
(``<task>/<model>[__paired]__seed<N>__<fingerprint12>[__on-<eval fingerprint12>].json``, figures beside it),
so a rerun skips the runs whose records all exist and a crash or Ctrl-C loses only the runs in flight.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fxbench.errors import FxbenchError


@dataclass
class SweepConfig:
    tasks: list[str]
    models: list[str]
    seeds: list[int]
    source: str = "synth"
    data_seed: int = 0
    data_dir: Optional[str] = None
    input: str = "wet"
    eval_source: Optional[str] = None  # score on this source's test rows instead of the training test split
    also_eval: list[str] = field(default_factory=list)  # more sources each trained model is scored on ("own")
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    device: str = "auto"
    results_dir: str = "results"
    executor: str = "local"
    cpus_per_run: Optional[float] = None  # None: the machine's cores over the runs at once
    gpus_per_run: float = 0.0
    progress: bool = True
    runs: list[dict] = field(default_factory=list)  # filled by plan_sweep


def parse_seeds(text: str) -> list[int]:
    """``0-2``, ``0,3,5`` or a mix -> sorted unique seeds."""
    out: set[int] = set()
    try:
        for part in (p.strip() for p in text.split(",")):
            lo, dash, hi = part.partition("-")
            if dash:
                if int(hi) < int(lo):
                    raise ValueError(part)
                out.update(range(int(lo), int(hi) + 1))
            else:
                out.add(int(part))
    except ValueError:
        raise FxbenchError(f"--seeds {text}: give seeds as 0-2 or 0,1,2 (whole numbers ≥ 0)", exit_code=2) from None
    if not out or min(out) < 0:
        raise FxbenchError(f"--seeds {text}: give seeds as 0-2 or 0,1,2 (whole numbers ≥ 0)", exit_code=2)
    return sorted(out)


def check_sweep(cfg: SweepConfig) -> None:
    """Every task, model and option resolves, and the results folder can be written: before any build."""
    from fxbench.destination import check_writable
    from fxbench.inputs import check_input, check_model_input
    from fxbench.models.base import TrainConfig
    from fxbench.models.registry import model_label, resolve_model
    from fxbench.results import check_model_name
    from fxbench.task import load_task

    check_input(cfg.input)
    tasks = [load_task(t) for t in cfg.tasks]
    for spec in cfg.models:
        factory, _ = resolve_model(spec)
        check_model_name(model_label(spec))
        check_model_input(factory(tasks[0], TrainConfig(progress=False)), model_label(spec), cfg.input)
    check_writable(Path(cfg.results_dir), "--results-dir")


def record_file(results_dir: str, task: str, model: str, seed: int, input_track: str, fingerprint: str,
                eval_fingerprint: Optional[str] = None) -> Path:
    from fxbench.destination import record_stem, slug

    stem = record_stem({"model": model, "seed": seed, "input": input_track, "dataset_fingerprint": fingerprint,
                        "eval_dataset_fingerprint": eval_fingerprint, "eval_split": "test"})
    return Path(results_dir) / slug(task) / f"{stem}.json"


def _eval_fingerprints(cfg: SweepConfig, task: Any, fingerprint: str) -> list[Optional[str]]:
    """The evaluation datasets' fingerprints, in the order `execute_all` scores them (None: the training
    dataset's own test split); each one is built here, once, like the training dataset."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.runner import OWN

    out: list[Optional[str]] = []
    for spec in [cfg.eval_source, *cfg.also_eval]:
        if spec is None or spec == OWN:
            out.append(None)
            continue
        try:
            _, manifest, _ = resolve_dataset(task, spec, cfg.data_seed, cfg.data_dir, progress=cfg.progress)
        except FxbenchError as exc:
            raise FxbenchError(f"--eval-source/--also-eval {spec} cannot serve task {task.task}: {exc}",
                               exit_code=exc.exit_code) from None
        if manifest["fingerprint"] == fingerprint:
            raise FxbenchError(f"{spec} is the training dataset of {task.task} itself; name `own` to score on its "
                               f"test split", exit_code=2)
        out.append(manifest["fingerprint"])
    if len(set(out)) != len(out):
        raise FxbenchError("--eval-source and --also-eval name the same evaluation twice; name each once", exit_code=2)
    return out


def plan_sweep(cfg: SweepConfig) -> list[dict]:
    """Build (or find) each task's datasets, then one payload per run; ``skip`` marks runs already recorded."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.models.registry import model_label
    from fxbench.task import load_task

    runs = []
    for name in cfg.tasks:
        task = load_task(name)
        _, manifest, _ = resolve_dataset(task, cfg.source, cfg.data_seed, cfg.data_dir, progress=cfg.progress)
        evals = _eval_fingerprints(cfg, task, manifest["fingerprint"])
        for model in cfg.models:
            for seed in cfg.seeds:
                outs = [str(record_file(cfg.results_dir, task.task, model_label(model), seed, cfg.input,
                                        manifest["fingerprint"], fp)) for fp in evals]
                runs.append({"task": name, "model": model, "seed": seed, "source": cfg.source,
                             "data_seed": cfg.data_seed, "data_dir": cfg.data_dir, "input": cfg.input,
                             "eval_source": cfg.eval_source, "also_eval": list(cfg.also_eval),
                             "epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr,
                             "device": cfg.device, "out": outs[0], "outs": outs,
                             "skip": all(Path(o).exists() for o in outs)})
    cfg.runs = runs
    return runs


def run_job(payload: dict) -> dict[str, Any]:
    """One run in a worker: train once, score every evaluation, write each record atomically (figures beside
    it) at the path planned for it; the first record's figures in one line."""
    from fxbench.models.base import TrainConfig
    from fxbench.plots import record_figures
    from fxbench.results import write_record
    from fxbench.runner import RunConfig, execute_all

    train = TrainConfig(seed=payload["seed"], device=payload["device"], progress=False)
    for name in ("epochs", "batch_size", "lr"):
        if payload.get(name) is not None:
            setattr(train, name, payload[name])
    cfg = RunConfig(task=payload["task"], model=payload["model"], source=payload["source"],
                    data_seed=payload["data_seed"], data_dir=payload["data_dir"], train=train,
                    input=payload["input"], eval_source=payload.get("eval_source"),
                    also_eval=tuple(payload.get("also_eval") or ()))
    results = execute_all(cfg)
    outs = payload.get("outs") or [payload["out"]]
    records = []
    for (record, outputs), planned in zip(results, outs):
        if record is None:
            raise FxbenchError(f"{payload['task']}: the evaluation dataset is blind; a sweep scores only labelled "
                               f"datasets")
        out = Path(planned)
        got = record_file(str(out.parent.parent), record["task"], record["model"], record["seed"],
                          record["input"], record["dataset_fingerprint"], record["eval_dataset_fingerprint"])
        if got != out:  # the plan and the run disagree on what was scored: never write under a wrong name
            raise FxbenchError(f"{payload['task']}: the run scored {got.name}, not the planned {out.name}; rerun the "
                               f"sweep (a dataset changed under it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_record(record, out)
        record_figures(record, outputs, out)
        records.append(record)
    first = records[0]
    rerender = first["metrics"].get("rerender") or {}
    return {"out": str(outs[0]), "outs": [str(o) for o in outs], "mae": first["metrics"]["mae"],
            "skill": rerender.get("skill"), "train_s": first["timing"]["train_s"]}


def run_sweep(cfg: SweepConfig, executor: Optional[Any] = None) -> dict[str, Any]:
    """Run every planned run not yet recorded, on ``executor`` (default: ``cfg.executor``, opened and closed
    here); {"done": [(run, result)], "skipped", "failed": [(run, reason)], "wall_s"}."""
    import os
    import time

    from fxbench.executors import Resources, open_executor

    if not cfg.runs:
        plan_sweep(cfg)
    todo = [r for r in cfg.runs if not r["skip"]]
    skipped = [r for r in cfg.runs if r["skip"]]
    done: list[tuple[dict, dict]] = []
    failed: list[tuple[dict, str]] = []
    started = time.perf_counter()
    own = executor is None and bool(todo)
    if own:
        executor = open_executor(cfg.executor)
    if todo:
        # by the executor's slots alone, never by how many runs are left: a resumed sweep trains each run with
        # the threads the first one would have (CPU training is bit-identical only at one thread count)
        cpus = cfg.cpus_per_run or max(1, (os.cpu_count() or 1) // executor.slots)
        resources = Resources(cpus=cpus, gpus=cfg.gpus_per_run)
        try:
            with _Board(cfg, todo, skipped) as board:
                def on_done(i: int, result: Any, error: Optional[BaseException]) -> None:
                    if error is None:
                        done.append((todo[i], result))
                    else:
                        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                        failed.append((todo[i], reason))
                    board.finish(i, result, error)

                executor.run_jobs(run_job, todo, resources, board.start, on_done)
        finally:
            if own:
                executor.close()
    return {"done": done, "skipped": skipped, "failed": failed, "wall_s": time.perf_counter() - started}


def run_name(run: dict) -> str:
    paired = " paired" if run["input"] != "wet" else ""
    return f"{run['task']} · {run['model']} · seed {run['seed']}{paired}"


class _Board:
    """Rich progress: a line per run (queued, running, its MAE or why it failed) and a total."""

    def __init__(self, cfg: SweepConfig, todo: list[dict], skipped: list[dict]) -> None:
        self.enabled, self.todo, self.skipped = cfg.progress, todo, skipped

    def __enter__(self) -> "_Board":
        if not self.enabled:
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from fxbench.progress import console

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=10), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console())
        self.bar.__enter__()
        self.total = self.bar.add_task("[bold]sweep", total=len(self.todo),
                                       info=f"{len(self.skipped)} already recorded" if self.skipped else "")
        self.lines = [self.bar.add_task(run_name(r), total=1, info="queued") for r in self.todo]
        return self

    def start(self, i: int) -> None:
        if self.enabled:
            self.bar.update(self.lines[i], info="running")

    def finish(self, i: int, result: Any, error: Optional[BaseException]) -> None:
        if not self.enabled:
            return
        if error is None:
            skill = "" if result.get("skill") is None else f", re-render skill {result['skill']:.3f}"
            info = f"[green]MAE {result['mae']:.4f}{skill}"
        else:
            info = f"[red]failed: {str(error).strip().splitlines()[0][:60] if str(error).strip() else type(error).__name__}"
        self.bar.update(self.lines[i], completed=1, info=info)
        self.bar.advance(self.total)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
