"""The `fxbench` command. Heavy libraries are imported inside each command, so --help stays instant."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from fxbench import __version__
from fxbench.errors import FxbenchError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fxbench", description="Benchmark for blind estimation of audio-effect "
                                "parameters from wet audio.")
    p.add_argument("--version", action="version", version=f"fxbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="build (or reuse) a task's dataset, train a model, score it, write a record")
    r.add_argument("--task", required=True, help="task name (see `fxbench tasks`) or a task .yaml file")
    r.add_argument("--model", required=True, help="model name (see `fxbench models`)")
    r.add_argument("--source", default="synth", help="dry audio: synth (default, embedded) or folder:PATH")
    r.add_argument("--seed", type=int, default=0, help="model seed: initialisation and shuffling (default 0)")
    r.add_argument("--data-seed", type=int, default=0, help="dataset seed: source audio and splits (default 0)")
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the paper's 30)")
    r.add_argument("--lr", type=float, default=None, help="learning rate (default: the paper's 1e-4)")
    r.add_argument("--batch-size", type=int, default=None, help="batch size (default: the paper's 16)")
    r.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    r.add_argument("--data-dir", default=None, help="where datasets are built and cached "
                   "(default: $FXBENCH_CACHE or ~/.cache/fxbench)")
    r.add_argument("--output", default=None, help="write the result record exactly here "
                   "(default: leaderboard/results/<task>/...)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("tasks", help="list the tasks")
    sub.add_parser("models", help="list the models")

    d = sub.add_parser("data", help="dataset commands")
    dsub = d.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    dsub.required = True
    b = dsub.add_parser("build", help="write a task's Hugging Face dataset folder")
    b.add_argument("--task", required=True, help="task name or .yaml file")
    b.add_argument("--out", required=True, help="dataset folder to write (replaced atomically if it exists)")
    b.add_argument("--source", default="synth", help="dry audio: synth (default) or folder:PATH")
    b.add_argument("--seed", type=int, default=0, help="dataset seed: source audio and splits (default 0)")
    b.add_argument("--quiet", action="store_true", help="no progress bars")

    lb = sub.add_parser("leaderboard", help="render result records into a markdown leaderboard")
    lb.add_argument("--results", default="leaderboard/results", help="folder of result records")
    lb.add_argument("--output", default="leaderboard/LEADERBOARD.md", help="markdown file to write")
    return p


def _cmd_run(args: argparse.Namespace) -> int:
    from fxbench.models.base import TrainConfig
    from fxbench.results import default_path, write_record
    from fxbench.runner import RunConfig, default_results_dir, run

    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise FxbenchError(f"--{name.replace('_', '-')} must be at least 1, got {value}", exit_code=2)
    if args.output and Path(args.output).is_dir():
        raise FxbenchError(f"--output {args.output} is a folder; give a file path such as "
                           f"{Path(args.output) / 'result.json'}", exit_code=2)
    if args.lr is not None and not args.lr > 0:
        raise FxbenchError(f"--lr must be positive, got {args.lr}", exit_code=2)
    train = TrainConfig(seed=args.seed, device=args.device, progress=not args.quiet)
    for name in ("epochs", "lr", "batch_size"):
        if getattr(args, name) is not None:
            setattr(train, name, getattr(args, name))
    record = run(RunConfig(task=args.task, model=args.model, source=args.source, data_seed=args.data_seed,
                           data_dir=args.data_dir, train=train))
    path = Path(args.output) if args.output else default_path(default_results_dir(), record)
    write_record(record, path)
    _print_metrics(record)
    print(f"result record: {path}")
    return 0


def _print_metrics(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    m = record["metrics"]
    t = Table(title=f"{record['task']} v{record['task_version']} · {record['model']} · test split "
                    f"(n={record['n_test']})")
    t.add_column("metric")
    t.add_column(record["model"], justify="right")
    t.add_column("uniform random (1/3)", justify="right")
    t.add_column("uniform over grid", justify="right")
    t.add_row("MAE (scaled)", f"{m['mae']:.4f}", f"{m['random_mae']:.4f}", f"{m['chance_mae']:.4f}")
    t.add_row("MSE (scaled)", f"{m['mse']:.4f}", "", "")
    units = record.get("param_units", {})
    for name, v in m["per_param_mae_units"].items():
        t.add_row(f"MAE {name} ({units.get(name, '')})", f"{v:.3f}", "", "")
    t.add_row("grid accuracy", f"{m['grid_accuracy']:.3f}", "", "")
    Console().print(t)
    timing = record["timing"]
    built = "cached" if timing["dataset_cached"] else f"built in {timing['build_s']:.1f} s"
    print(f"dataset {record['dataset_fingerprint'][:12]} ({built}); train {timing['train_s']:.1f} s; "
          f"predict {timing['predict_s']:.2f} s; total {timing['total_s']:.1f} s")


def _cmd_tasks(args: argparse.Namespace) -> int:
    from fxbench.task import available_tasks, load_task

    for name in available_tasks():
        t = load_task(name)
        grid = " x ".join(f"{p.name}[{len(p.grid)}]" for p in t.parameters)
        print(f"{name:<12} v{t.version}  {t.effect.plugin:<10} {grid:<24} {t.description.split('. ')[0]}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from fxbench.models.registry import available_models

    for name, entry in available_models().items():
        shown = f"{name}NAME" if name.endswith(":") else name
        print(f"{shown:<14} {entry.description}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task(args.task)
    source = open_source(args.source, task, args.seed)
    manifest = build_dataset(task, source, args.seed, Path(args.out), progress=not args.quiet)
    s = manifest["splits"]
    print(f"wrote {args.out}: {task.task} train/validation/test = {s['train']['rows']}/"
          f"{s['validation']['rows']}/{s['test']['rows']} rows, fingerprint {manifest['fingerprint'][:12]}, "
          f"{manifest['build_seconds']:.1f} s")
    print(f'load it with: datasets.load_dataset("{args.out}", "{task.task}")')
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from fxbench.leaderboard import write_leaderboard

    if Path(args.output).is_dir():
        raise FxbenchError(f"--output {args.output} is a folder; give a file path such as "
                           f"{Path(args.output) / 'LEADERBOARD.md'}", exit_code=2)
    path, n = write_leaderboard(Path(args.results), Path(args.output))
    print(f"wrote {path} from {n} result records")
    return 0


COMMANDS = {"run": _cmd_run, "tasks": _cmd_tasks, "models": _cmd_models, "data": _cmd_data,
            "leaderboard": _cmd_leaderboard}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except FxbenchError as exc:
        print(f"fxbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fxbench: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
