"""The `fxbench` command. Heavy libraries are imported inside each command, so --help stays instant."""
from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path
from typing import Optional, Sequence

from fxbench import __version__
from fxbench.errors import FxbenchError


SOURCES = "synth (default), guitarset-excerpts, guitarset:PATH or folder:PATH (see `fxbench sources`)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fxbench", description="Benchmark for blind estimation of audio-effect "
                                "parameters from wet audio.")
    p.add_argument("--version", action="version", version=f"fxbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="build (or reuse) a task's dataset, train a model, score it, write a record")
    r.add_argument("--task", required=True, help="task name (see `fxbench tasks`), a task .yaml file, or a group, "
                   "all or a comma list of those: each task in turn, a record each")
    r.add_argument("--model", required=True, help="model: a name (see `fxbench models`), path/to/file.py:Class "
                   "or package.module:Class")
    r.add_argument("--source", default="synth", help=f"dry audio: {SOURCES}")
    r.add_argument("--seed", type=int, default=0, help="model seed: initialisation and shuffling (default 0)")
    r.add_argument("--data-seed", type=int, default=0, help="dataset seed: source audio and splits (default 0)")
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the paper's 30)")
    r.add_argument("--lr", type=float, default=None, help="learning rate (default: the paper's 1e-4)")
    r.add_argument("--batch-size", type=int, default=None, help="batch size (default: the paper's 16)")
    r.add_argument("--pretrained", action="store_true", help="timm/smp backbones: start from ImageNet weights "
                   "(downloads them; default: random weights, no network)")
    r.add_argument("--epochs-note", default=None, help="why --epochs departs from the paper's 30 (recorded and "
                   "shown on the leaderboard)")
    r.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    r.add_argument("--data-dir", default=None, help="where datasets are built and cached "
                   "(default: $FXBENCH_CACHE, else $XDG_CACHE_HOME/fxbench, else ~/.cache/fxbench)")
    r.add_argument("--data", default=None, help="run on this built dataset folder or Hub dataset repo id "
                   "(ORG/NAME, or ORG/NAME@REV for a branch, tag or commit) instead of building one")
    _record_args(r)
    _eval_args(r)
    _also_eval_arg(r)
    r.add_argument("--quiet", action="store_true", help="no progress bars")

    t = sub.add_parser("tasks", help="list the tasks; --details: how audible each parameter is")
    t.add_argument("--details", action="store_true",
                   help="measure each parameter's audibility (renders; kept in the dataset cache)")
    t.add_argument("--task", default="all", help="with --details: a task, a group, all or a comma list")
    t.add_argument("--json", default=None, help="with --details: also write the measures to this JSON file")
    t.add_argument("--data-dir", default=None, help="with --details: cache root (default: FXBENCH_CACHE or ~/.cache)")
    sub.add_parser("models", help="list the models")
    sub.add_parser("sources", help="list the audio sources (--source NAME[:PATH])")

    d = sub.add_parser("data", help="dataset commands")
    dsub = d.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    dsub.required = True
    b = dsub.add_parser("build", help="write a task's Hugging Face dataset folder")
    b.add_argument("--task", required=True, help="task name or .yaml file; a group (see `fxbench tasks`), `all` or a "
                   "comma list (bitcrush,delay) builds several tasks into one repository, one config each, the dry "
                   "clips stored once")
    b.add_argument("--out", required=True, help="dataset folder to write (an existing fxbench dataset there is "
                   "replaced atomically; any other non-empty folder only with --overwrite)")
    b.add_argument("--overwrite", action="store_true", help="replace --out even if it is not an fxbench dataset "
                   "(never the source folder)")
    b.add_argument("--source", default="synth", help=f"dry audio: {SOURCES}")
    b.add_argument("--seed", type=int, default=None, help="dataset seed: source audio and splits (default 0; a "
                   "--blind synth build draws a secret one)")
    b.add_argument("--workers", type=int, default=None, help="processes that render and write shards in "
                   "parallel (default: $FXBENCH_WORKERS, else every core for 32+ clips); the output is the same for "
                   "any number")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.add_argument("--blind", action="store_true", help="publish the test split without its targets (rows shuffled, "
                   "ids re-keyed with a secret); the targets go to an answer key beside --out")
    b.add_argument("--answers", default=None, help="with --blind: where the answer key goes (default DIR.answers.json "
                   "next to --out; an existing file is never overwritten)")
    ver = dsub.add_parser("verify", help="recompute every shard's checksum against the manifest")
    ver.add_argument("dir", help="dataset folder")
    pub = dsub.add_parser("publish", help="upload a dataset folder to the Hugging Face Hub")
    pub.add_argument("dir", help="dataset folder built by `fxbench data build`")
    pub.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo")
    pub.add_argument("--private", action="store_true", help="create the repo private")

    sw = sub.add_parser("sweep", help="every task x model x seed as an independent run (local or Ray); skips "
                        "runs already recorded, then renders a leaderboard of the results")
    sw.add_argument("--task", required=True, help="tasks: a name, a group, all or a comma list")
    sw.add_argument("--model", required=True, help="models: a comma list (cnn,mean)")
    sw.add_argument("--seeds", default="0", help="model seeds: 0-2 or 0,1,2 (default 0)")
    sw.add_argument("--source", default="synth", help=f"dry audio: {SOURCES}")
    sw.add_argument("--data-seed", type=int, default=0, help="dataset seed (default 0)")
    sw.add_argument("--input", default="wet", help="input track: wet (default) or paired")
    sw.add_argument("--eval-source", default=None, help="score each run on this source's test split instead of "
                    "the training data's (e.g. synth -> guitarset-excerpts, the transfer score)")
    _also_eval_arg(sw)
    sw.add_argument("--epochs", type=int, default=None, help="training epochs (default: the paper's 30)")
    sw.add_argument("--batch-size", type=int, default=None, help="batch size (default: the paper's 16)")
    sw.add_argument("--lr", type=float, default=None, help="learning rate (default: the paper's 1e-4)")
    sw.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    sw.add_argument("--executor", default="local", help="local (one run at a time), local:N (N at once), ray "
                    "(a local Ray, or the cluster in RAY_ADDRESS), ray://HOST:PORT (needs fxbench[ray])")
    sw.add_argument("--cpus-per-run", type=float, default=None, help="CPUs each run asks for (default: the "
                    "machine's cores shared by the runs at once)")
    sw.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs each run asks for on Ray (0.5: two "
                    "runs share one)")
    sw.add_argument("--results-dir", default="results", help="where each run writes its record (on a cluster: "
                    "a path every node can reach)")
    sw.add_argument("--leaderboard", default=None, help="the leaderboard to render at the end (default: "
                    "RESULTS_DIR/LEADERBOARD.md)")
    sw.add_argument("--data-dir", default=None, help="dataset cache root (default: $FXBENCH_CACHE or ~/.cache)")
    sw.add_argument("--quiet", action="store_true", help="no progress bars")

    lb = sub.add_parser("leaderboard", help="render result records into a markdown leaderboard")
    lb.add_argument("--results", default="leaderboard/results", help="folder of result records")
    lb.add_argument("--output", default="leaderboard/LEADERBOARD.md", help="markdown file to write")
    lb.add_argument("--chart", default=None, help="also draw a PNG of MAE per model per task here")
    lb.add_argument("--csv", default=None, help="also write the standings (one row per task, condition, group "
                    "and model) as CSV here")
    lb.add_argument("--write-datasets", action="store_true", help="first write the canonical datasets' file "
                    "digests (datasets.json beside the results folder) for every task, building what is not "
                    "cached; only records scored on those exact files rank")
    lb.add_argument("--data-dir", default=None, help="dataset cache root for --write-datasets (default: "
                    "$FXBENCH_CACHE or ~/.cache)")

    ex = sub.add_parser("export", help="export results in other formats")
    exsub = ex.add_subparsers(dest="export_command", metavar="EXPORT_COMMAND")
    exsub.required = True
    hub = exsub.add_parser("hub-results", help="the ranked results as Hugging Face Hub files: eval.yaml, "
                           ".eval_results/*.yaml per model, and model-index front matter")
    hub.add_argument("--results", default="leaderboard/results", help="folder of result records")
    hub.add_argument("--out", required=True, help="folder to write the files into")
    hub.add_argument("--benchmark-id", default=None, help="ORG/NAME of the benchmark dataset repo that carries "
                     "eval.yaml (default fxbench/fxbench)")
    hub.add_argument("--overwrite", action="store_true", help="replace files an earlier export wrote")

    sc = sub.add_parser("score", help="score a file of test-set predictions made elsewhere; write a record")
    sc.add_argument("--task", required=True, help="task name or .yaml file")
    sc.add_argument("--predictions", required=True, help="CSV or JSON: id plus one column per parameter, "
                    "named <param> (physical units) or <param>_scaled ([0, 1])")
    sc.add_argument("--name", default=None, help="model name on the leaderboard (default: the file's stem)")
    sc.add_argument("--source", default="synth", help=f"dry audio the dataset is built from: {SOURCES}")
    sc.add_argument("--data-seed", type=int, default=0, help="dataset seed (default 0)")
    sc.add_argument("--data-dir", default=None, help="where datasets are built and cached")
    sc.add_argument("--data", default=None, help="score on this built dataset folder or Hub repo id instead of "
                    "building one")
    sc.add_argument("--answers", default=None, help="the answer key of a blind --data folder (written by "
                    "`fxbench data build --blind`)")
    _record_args(sc)
    _eval_args(sc)
    sc.add_argument("--quiet", action="store_true", help="no progress bars")

    rs = sub.add_parser("rescore", help="recompute records' metrics from the predictions they keep (no retraining)")
    rs.add_argument("paths", nargs="+", metavar="PATH", help="record files, or folders of them (e.g. "
                    "leaderboard/results); each is replaced atomically")
    rs.add_argument("--data-dir", default=None, help="where datasets are built and cached")
    rs.add_argument("--data", default=None, help="the built dataset folder the records were trained on, when "
                    "their source no longer builds it")
    rs.add_argument("--quiet", action="store_true", help="no progress bars")

    v = sub.add_parser("validate-model", help="check a model wrapper on a handful of rows before a long run")
    v.add_argument("model", help="a name, path/to/file.py:Class or package.module:Class")
    v.add_argument("--task", required=True, help="task name or .yaml file")
    v.add_argument("--source", default="synth", help=f"dry audio: {SOURCES}")
    v.add_argument("--data-dir", default=None, help="where datasets are built and cached")
    v.add_argument("--rows", type=int, default=16, help="training rows to fit on (default 16)")

    n = sub.add_parser("new-model", help="write a ready-to-edit model file")
    n.add_argument("name", help="model name, e.g. my-model")
    n.add_argument("--out", default=None, help="file to write (default: <name>.py here)")
    for scored in (r, sc):
        scored.add_argument("--input", default="wet", choices=("wet", "paired"), help="what the model sees: the "
                            "wet clip alone (default, the blind task) or paired, wet and dry as two channels "
                            "(reference matching, ranked apart)")
    for built in (r, b, sc, v):
        built.add_argument("--clips-per-recording", type=int, default=None, metavar="N",
                           help="clips cut from each recording (default: the task's, for the source's kind: "
                           "real sources take many clips per recording, synth a few)")
    return p


def _record_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results-dir", default=None, metavar="DIR", help="folder the record goes in, as "
                   "<task>/<model>__seed<N>__<fingerprint>[...]__<run id>.json, a new name each run (default: "
                   "./results, not the committed leaderboard/results)")
    p.add_argument("--output", default=None, help="write the result record exactly here instead")
    p.add_argument("--overwrite", action="store_true", help="let --output replace an existing file")


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval-source", default=None, help="score on this source's rows instead of the training "
                   "data's test split (e.g. train on synth, score on guitarset-excerpts: the transfer score)")
    p.add_argument("--eval-split", default="test", choices=("test", "all"), help="with --eval-source: its test "
                   "split (default) or all of its rows (a source the model never saw)")


def _also_eval_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--also-eval", action="append", default=[], metavar="S", help="also score the trained model "
                   "on source S (repeatable; `own` = the training data's test split): one more record each, "
                   "written beside the first")


def _check_clips_per_recording(args: argparse.Namespace) -> None:
    """Fail before any work on a bad --clips-per-recording."""
    n = getattr(args, "clips_per_recording", None)
    if n is not None and n < 1:
        raise FxbenchError(f"--clips-per-recording must be at least 1, got {n}", exit_code=2)


def _cmd_run(args: argparse.Namespace) -> int:
    import dataclasses

    from fxbench.models.base import TrainConfig
    from fxbench.runner import RunConfig
    from fxbench.task import load_task

    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise FxbenchError(f"--{name.replace('_', '-')} must be at least 1, got {value}", exit_code=2)
    _check_output(args.output, "result.json")
    from fxbench.evaluation import check_eval_split

    check_eval_split(args.eval_split, args.eval_source)
    if args.lr is not None and not args.lr > 0:
        raise FxbenchError(f"--lr must be positive, got {args.lr}", exit_code=2)
    train = TrainConfig(seed=args.seed, device=args.device, pretrained=args.pretrained, progress=not args.quiet)
    for name in ("epochs", "lr", "batch_size"):
        if getattr(args, name) is not None:
            setattr(train, name, getattr(args, name))
    cfg = RunConfig(task=args.task, model=args.model, source=args.source, data_seed=args.data_seed,
                    data_dir=args.data_dir, data=args.data, train=train, epochs_note=args.epochs_note,
                    eval_source=args.eval_source, eval_split=args.eval_split,
                    clips_per_recording=args.clips_per_recording, also_eval=tuple(args.also_eval),
                    input=args.input)
    if args.also_eval and args.output:
        raise FxbenchError("--output names one file but --also-eval makes several records; drop --output "
                           "(each record gets its own name under --results-dir)", exit_code=2)
    _check_destination(args)
    _check_blind_predictions(args)
    from fxbench.task_groups import resolve_tasks

    names = resolve_tasks(args.task)
    if len(names) > 1:
        if args.output or args.data:
            raise FxbenchError(f"--task {args.task} is {len(names)} tasks but --{'output' if args.output else 'data'} "
                               "names one; drop it (each task's record gets its own name)", exit_code=2)
        for name in names:  # every name resolves before the first run starts
            load_task(name)
        for i, name in enumerate(names, 1):
            print(f"[{i}/{len(names)}] {name}", flush=True)
            _run_one(dataclasses.replace(cfg, task=name), args)
        return 0
    _run_one(cfg, args)
    return 0


def _run_one(cfg, args: argparse.Namespace) -> None:
    from fxbench.plots import record_figures
    from fxbench.runner import execute_all

    for record, outputs in execute_all(cfg):
        if record is None:
            _save_blind_predictions(outputs, args)
            continue
        path = _save_record(record, args)
        for figure in record_figures(record, outputs, path):
            print(f"figure: {figure}")


def _save_blind_predictions(outputs: dict, args: argparse.Namespace) -> Path:
    """A blind test split cannot be scored here: keep the predictions where the record would have gone."""
    from fxbench.destination import record_path
    from fxbench.scoring import write_predictions

    task = outputs["task"]
    record = {"task": task.task, "model": outputs["model"], "seed": outputs["seed"],
              "dataset_fingerprint": outputs["fingerprint"]}
    path = _predictions_path(record_path(record, args.output, args.results_dir))
    if path.exists() and not args.overwrite:
        raise _predictions_exist(path)
    path = write_predictions(path, task, outputs["ids"], outputs["y_pred"])
    print(f"blind test split: no targets to score against, wrote the test predictions to {path}; score them with "
          f"`fxbench score --task {task.task} --data {args.data} --predictions {path} --name {outputs['model']} "
          f"--answers KEY`")
    return path


def _predictions_path(record_path: Path) -> Path:
    return record_path.with_name(record_path.stem + ".predictions.csv")


def _predictions_exist(path: Path) -> FxbenchError:
    return FxbenchError(f"{path} already exists (a blind run writes its test predictions there); pass --overwrite "
                        f"to replace it, or give another --output", exit_code=2)


def _check_blind_predictions(args: argparse.Namespace) -> None:
    """Before training, as for --output: a run on a blind --data folder would replace <output>.predictions.csv.
    A Hub --data is taken as possibly blind (its manifest is not fetched yet)."""
    import json

    if not (args.output and args.data) or args.overwrite:
        return
    path = _predictions_path(Path(args.output))
    if not path.exists():
        return
    manifest = Path(args.data) / "fxbench.json"
    if Path(args.data).is_dir():
        try:
            if json.loads(manifest.read_text()).get("blind") is not True:
                return
        except (OSError, ValueError, AttributeError):
            return  # not a readable dataset: the run says so itself
    raise _predictions_exist(path)


def _check_output(output: Optional[str], example: str) -> None:
    """Fail before any work when --output names a folder (the write would fail only at the end)."""
    if output and Path(output).is_dir():
        raise FxbenchError(f"--output {output} is a folder; give a file path such as {Path(output) / example}",
                           exit_code=2)


def _check_destination(args: argparse.Namespace) -> None:
    from fxbench.destination import check_destination

    check_destination(args.output, args.results_dir, args.overwrite)


def _save_record(record: dict, args: argparse.Namespace) -> Path:
    """Write the record (atomically) to --output, or under a new name in --results-dir, then show it."""
    from fxbench.destination import record_path
    from fxbench.results import write_record

    path = record_path(record, args.output, args.results_dir)
    try:
        write_record(record, path)
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise
    _print_metrics(record)
    print(f"result record: {path}")
    return path




def _cmd_score(args: argparse.Namespace) -> int:
    from fxbench.scoring import score_file

    _check_output(args.output, "result.json")
    _check_destination(args)
    record, warnings = score_file(args.task, args.predictions, name=args.name, source=args.source,
                                  data_seed=args.data_seed, data_dir=args.data_dir, progress=not args.quiet,
                                  eval_source=args.eval_source, eval_split=args.eval_split,
                                  clips_per_recording=args.clips_per_recording, data=args.data,
                                  answers=args.answers, input=args.input)
    for w in warnings:
        print(f"fxbench: warning: {w}", file=sys.stderr)
    _save_record(record, args)
    return 0


def _cmd_rescore(args: argparse.Namespace) -> int:
    from fxbench.rescore import rescore_paths

    done, failed = rescore_paths([Path(p) for p in args.paths], data_dir=args.data_dir, data=args.data,
                                 progress=not args.quiet)
    for path, old, new in done:
        skill = (new["metrics"].get("rerender") or {}).get("skill")
        print(f"rescored {path}: MAE {old['metrics']['mae']:.4f} -> {new['metrics']['mae']:.4f}"
              + (f", re-render skill {skill:.3f}" if skill is not None else ""))
    for why in failed:
        print(f"fxbench: error: {why}", file=sys.stderr)
    if failed:
        print(f"fxbench: {len(failed)} of {len(done) + len(failed)} record(s) not rescored (left as they were)",
              file=sys.stderr)
        return 1
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from fxbench.validate import validate_model

    if args.rows < 2:
        raise FxbenchError(f"--rows must be at least 2, got {args.rows}", exit_code=2)
    checks = validate_model(args.model, args.task, source=args.source, data_dir=args.data_dir, rows=args.rows,
                            clips_per_recording=args.clips_per_recording)
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.name:<16} {c.detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"fxbench: error: {args.model} failed {len(failed)} check(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{args.model} passed every check; run it with: fxbench run --task {args.task} --model {args.model}")
    return 0


def _cmd_new_model(args: argparse.Namespace) -> int:
    from fxbench.new_model import write_template

    path, cls = write_template(args.name, Path(args.out) if args.out else None)
    print(f"wrote {path}; next:")
    print(f"  fxbench validate-model {path}:{cls} --task bitcrush")
    print(f"  fxbench run --task bitcrush --model {path}:{cls}")
    return 0


def _print_metrics(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    m = record["metrics"]
    scored = "test split" if not record.get("eval_source") else \
        f"{record['eval_source']} {record.get('eval_split', 'test')} rows"
    paired = " · paired input" if record.get("input", "wet") != "wet" else ""
    t = Table(title=f"{record['task']} v{record['task_version']} · {record['model']}{paired} · {scored} "
                    f"(n={record['n_test']})")
    t.add_column("metric")
    t.add_column(record["model"], justify="right")
    t.add_column("uniform random (1/3)", justify="right")
    t.add_column("uniform guess" if m.get("within_tolerance") is not None else "uniform over grid", justify="right")
    t.add_row("MAE (scaled)", f"{m['mae']:.4f}", f"{m['random_mae']:.4f}", f"{m['chance_mae']:.4f}")
    t.add_row("MSE (scaled)", f"{m['mse']:.4f}", "", "")
    units = record.get("param_units", {})
    f1 = m.get("per_param_f1") or {}
    for name, v in m["per_param_mae_units"].items():
        if name not in f1:
            t.add_row(f"MAE {name}" + (f" ({units[name]})" if units.get(name) else ""), f"{v:.3f}", "", "")
    for name, v in f1.items():
        t.add_row(f"F1 / accuracy {name}", f"{v:.3f} / {m['per_param_accuracy'][name]:.3f}", "", "")
    if m.get("macro_f1") is not None:
        t.add_row("macro F1 (at 0.5)", f"{m['macro_f1']:.3f}", "", "")
    rr = m.get("rerender") or {}
    if rr.get("skill") is not None:
        t.add_row("re-render distance", f"{rr['distance']:.4f}", f"{rr['random_distance']:.4f}", "")
        t.add_row("re-render skill (vs mean)", f"{rr['skill']:.3f}", "", "")
    if m.get("grid_accuracy") is not None:
        t.add_row("grid accuracy", f"{m['grid_accuracy']:.3f}", "", "")
    if m.get("within_tolerance") is not None:
        t.add_row("within tolerance (all targets)", f"{m['within_tolerance']:.3f}", "", "")
    Console().print(t)
    timing = record["timing"]
    built = "cached" if timing.get("dataset_cached") else f"built in {timing.get('build_s') or 0:.1f} s"
    steps = "; ".join(f"{key[:-2]} {timing[key]:.2f} s" for key in ("train_s", "predict_s", "score_s", "rerender_s",
                                                                     "total_s")
                      if timing.get(key) is not None)
    print(f"dataset {record['dataset_fingerprint'][:12]} ({built}); {steps}")


def _cmd_tasks(args: argparse.Namespace) -> int:
    import textwrap

    if args.details:
        return _task_details(args)
    if args.json or args.task != "all":
        raise FxbenchError("--task and --json go with --details: fxbench tasks --details --task NAME", exit_code=2)

    from rich.console import Console
    from rich.table import Table

    from fxbench.task import load_task
    from fxbench.task_groups import family, task_groups

    groups = task_groups()
    order = {g: i for i, g in enumerate(groups)}  # each task under its own family, the families in order
    names = sorted({n for members in groups.values() for n in members}, key=lambda n: (order[family(n)], n))
    # names never break (they are what a user types); the other columns wrap into what is left of the width
    table = Table(box=None, pad_edge=False, header_style="bold", collapse_padding=True)
    for heading in ("task", "v", "family", "effect", "targets"):
        table.add_column(heading, no_wrap=True)
    table.add_column("rows", no_wrap=True, justify="right")
    for name in names:
        t = load_task(name)
        # a grid renders every combination (x); a sampled target is drawn (~ uniform or log; 0/1 a presence)
        mark = {"uniform": "~", "log": "~log", "presence": " 0/1"}
        targets = "\n".join(f"{p.name}{mark[p.sampling]}" for p in t.parameters) if t.is_sampled else \
            " x\n".join(f"{p.name}[{len(p.grid)}]" for p in t.parameters)
        table.add_row(name, str(t.version), family(name), t.effect.label.replace(" > ", " >\n"),
                      targets, f"{t.dataset.clips * t.rows_per_clip:,}")
    console = Console()
    with console.capture() as shown:
        console.print(table)
    print("\n".join(line.rstrip() for line in shown.get().splitlines()))
    print(f"\n{len(names)} tasks. Groups (--task GROUP or --task all: each of its tasks in turn):")
    for g, members in groups.items():
        print(textwrap.fill(f"{g}: {', '.join(members)}", width=80, initial_indent="  ", subsequent_indent="    ",
                            break_on_hyphens=False))
    return 0


def _task_details(args: argparse.Namespace) -> int:
    """Per task and parameter: how much the audio changes across its range (fxbench/identifiability.py)."""
    import json

    from fxbench.identifiability import FLAG_SHARE, SETTINGS, measure_cached, skipped_because
    from fxbench.progress import progress_bar
    from fxbench.task import load_task
    from fxbench.task_groups import resolve_tasks

    names = resolve_tasks(args.task)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise FxbenchError(f"--json {args.json}: its folder does not exist; create it or name another path",
                           exit_code=2)
    found: dict[str, dict] = {}
    with progress_bar("measuring audibility", total=len(names)) as advance:
        for name in names:
            task = load_task(name)
            why = skipped_because(task)
            found[task.task] = {"digest": task.digest(), "skipped": why} if why else \
                {"digest": task.digest(), "parameters": [a.to_dict() for a in measure_cached(task, args.data_dir)]}
            advance(info=task.task)
    print(f"{'task':<11} {'parameter':<20} {'pairs':<10} {'share':>6}  quietest step (share)")
    for name, entry in found.items():
        if entry.get("skipped"):
            print(f"{name:<11} {'-':<20} skipped: {entry['skipped']}")
            continue
        for a in entry["parameters"]:
            step = f"{a['quietest']} ({a['quietest_share']:.2f})" if a["quietest"] else ""
            flag = "  barely audible" if a["flagged"] else ""
            print(f"{name:<11} {a['parameter']:<20} {a['pairs']:<10} {a['share']:>6.2f}  {step}{flag}")
    print(f"\nshare: the median distance between two renders that differ only in that parameter, over the distance "
          f"between the dry clip and its render at random settings (the re-render metric's STFT distance); under "
          f"{FLAG_SHARE:g}: barely audible.")
    if args.json:
        from fxbench.results import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps({"settings": SETTINGS, "tasks": found}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from fxbench.executors import open_executor
    from fxbench.leaderboard import write_leaderboard
    from fxbench.sweep import SweepConfig, check_sweep, parse_seeds, plan_sweep, run_name, run_sweep
    from fxbench.task_groups import resolve_tasks

    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise FxbenchError(f"--{name.replace('_', '-')} must be at least 1, got {value}", exit_code=2)
    if args.gpus_per_run < 0 or (args.cpus_per_run is not None and args.cpus_per_run <= 0):
        raise FxbenchError("--cpus-per-run must be positive and --gpus-per-run at least 0", exit_code=2)
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    if not models:
        raise FxbenchError("--model is empty; name one or more models (see `fxbench models`)", exit_code=2)
    cfg = SweepConfig(tasks=resolve_tasks(args.task), models=list(dict.fromkeys(models)),
                      seeds=parse_seeds(args.seeds), source=args.source, data_seed=args.data_seed,
                      data_dir=args.data_dir, input=args.input, eval_source=args.eval_source,
                      also_eval=list(dict.fromkeys(args.also_eval)), epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, device=args.device, results_dir=args.results_dir, executor=args.executor,
                      cpus_per_run=args.cpus_per_run, gpus_per_run=args.gpus_per_run, progress=not args.quiet)
    check_sweep(cfg)
    executor = open_executor(cfg.executor)  # a bad spec or an unreachable cluster fails before any build
    try:
        plan_sweep(cfg)
        out = run_sweep(cfg, executor)
    finally:
        executor.close()
    for run, result in out["done"]:
        print(f"done     {run_name(run):<40} MAE {result['mae']:.4f}  {result['out']}")
    for run in out["skipped"]:
        print(f"skipped  {run_name(run):<40} already recorded: {run['out']}")
    for run, reason in out["failed"]:
        print(f"failed   {run_name(run):<40} {reason}", file=sys.stderr)
    board = Path(args.leaderboard) if args.leaderboard else Path(args.results_dir) / "LEADERBOARD.md"
    if out["done"] or out["skipped"]:
        path, n, _ = write_leaderboard(Path(args.results_dir), board)
        print(f"wrote {path} from {n} records")
    print(f"{len(out['done'])} run(s) done, {len(out['skipped'])} skipped, {len(out['failed'])} failed in "
          f"{out['wall_s']:.1f} s on {cfg.executor}")
    return 1 if out["failed"] else 0


def _cmd_models(args: argparse.Namespace) -> int:
    from fxbench.models.registry import available_models

    for name, entry in available_models().items():
        shown = f"{name}NAME" if name.endswith(":") else name
        print(f"{shown:<14} {entry.description}")
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    from fxbench.sources.registry import available_sources

    for entry in available_sources().values():
        print(f"{entry.usage:<20} {entry.kind:<5} {entry.licence:<9} {entry.description}; splits: {entry.splits}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "verify":
        from fxbench.dataset.verify import verify_dataset

        problems = verify_dataset(Path(args.dir))
        for p in problems:
            print(f"FAIL {p}")
        if problems:
            print(f"fxbench: error: {args.dir} does not match its manifest ({len(problems)} problem(s)); "
                  f"rebuild it with `fxbench data build`", file=sys.stderr)
            return 1
        print(f"{args.dir}: every shard matches its manifest")
        return 0
    if args.data_command == "publish":
        from fxbench.dataset.hub import publish_dataset

        print(f"published {publish_dataset(Path(args.dir), args.repo_id, private=args.private)}")
        return 0
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source
    from fxbench.task import load_task

    if args.workers is not None and args.workers < 1:
        raise FxbenchError(f"--workers must be at least 1, got {args.workers}", exit_code=2)
    from fxbench.task_groups import resolve_tasks

    names = resolve_tasks(args.task)
    several = len(names) > 1 or args.task != names[0]
    if args.answers and not args.blind:
        raise FxbenchError("--answers names the answer key of a blind build; add --blind (or drop --answers)",
                           exit_code=2)
    if args.blind and several:
        raise FxbenchError("--blind builds one task's dataset; give one --task", exit_code=2)
    if args.blind:
        return _build_blind(args)
    args.seed = 0 if args.seed is None else args.seed
    if several:
        return _build_several(args)
    task = load_task(args.task)
    source = open_source(args.source, task, args.seed, args.clips_per_recording)
    manifest = build_dataset(task, source, args.seed, Path(args.out), progress=not args.quiet, workers=args.workers,
                             overwrite=args.overwrite)
    s = manifest["splits"]
    print(f"wrote {args.out}: {task.task} train/validation/test = {s['train']['rows']}/"
          f"{s['validation']['rows']}/{s['test']['rows']} rows, fingerprint {manifest['fingerprint'][:12]}, "
          f"{manifest['build_seconds']:.1f} s")
    print(f'load it with: datasets.load_dataset("{args.out}", "{task.task}")')
    return 0


def _build_blind(args: argparse.Namespace) -> int:
    from fxbench.dataset.answers import answers_path_for
    from fxbench.dataset.blind import blind_seed, build_blind, check_blind_source
    from fxbench.sources import open_source
    from fxbench.sources.registry import parse_source_spec
    from fxbench.task import load_task

    out = Path(args.out)
    answers = Path(args.answers) if args.answers else answers_path_for(out)
    task = load_task(args.task)
    entry, _ = parse_source_spec(args.source)
    check_blind_source(entry.name)
    seed, warning = blind_seed(entry.name, args.seed)
    if warning:
        print(f"fxbench: warning: {warning}", file=sys.stderr)
    source = open_source(args.source, task, seed, args.clips_per_recording)
    manifest, key = build_blind(task, source, seed, out, answers, progress=not args.quiet, workers=args.workers,
                                overwrite=args.overwrite)
    s = manifest["splits"]
    print(f"wrote {out}: {task.task} train/validation/test = {s['train']['rows']}/{s['validation']['rows']}/"
          f"{s['test']['rows']} rows, the test split blind, fingerprint {manifest['fingerprint'][:12]}")
    print(f"wrote the answer key {answers} ({len(key.rows)} test rows and the data seed, which {out} withholds): "
          f"keep it private, and publish only {out}")
    return 0


def _build_several(args: argparse.Namespace) -> int:
    from fxbench.dataset.build_all import build_tasks
    from fxbench.task import load_task

    from fxbench.task_groups import resolve_tasks

    names = resolve_tasks(args.task)
    tasks = [load_task(n) for n in names]
    manifest = build_tasks(tasks, args.source, args.seed, Path(args.out), progress=not args.quiet,
                           workers=args.workers, clips_per_recording=args.clips_per_recording,
                           overwrite=args.overwrite)
    for name, m in manifest["tasks"].items():
        s = m["splits"]
        print(f"  {name}: train/validation/test = {s['train']['rows']}/{s['validation']['rows']}/{s['test']['rows']} "
              f"rows, fingerprint {m['fingerprint'][:12]}")
    d = manifest["dry_clips"]
    print(f"wrote {args.out}: {len(tasks)} tasks, {sum(d.values())} dry clips stored once, "
          f"{manifest['build_seconds']:.1f} s")
    print(f'load a task with: datasets.load_dataset("{args.out}", "{names[0]}")')
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from fxbench.export import BENCHMARK_ID, export_hub_results

    benchmark = args.benchmark_id or BENCHMARK_ID
    paths, rejected = export_hub_results(Path(args.results), Path(args.out), benchmark_id=benchmark,
                                         overwrite=args.overwrite)
    for why in rejected:
        print(f"fxbench: warning: skipped rejected {Path(args.results).as_posix()}/{why}", file=sys.stderr)
    models = len({p.parent.parent.name for p in paths if p.parent.name == ".eval_results"})
    print(f"wrote {len(paths)} files into {args.out}: eval.yaml (for the benchmark dataset repo {benchmark}) and, for "
          f"each of {models} models, .eval_results/<task>.yaml and model-index.md (for its model repo)")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from fxbench.leaderboard import write_leaderboard

    _check_output(args.output, "LEADERBOARD.md")
    _check_output(args.csv, "standings.csv")
    chart = Path(args.chart) if args.chart else None
    csv = Path(args.csv) if args.csv else None
    if args.write_datasets:
        from fxbench.leaderboard.canonical import DATASETS_FILE, build_digests, write_digests
        from fxbench.task import available_tasks

        where = write_digests(Path(args.results).parent / DATASETS_FILE,
                              build_digests(sorted(available_tasks()), args.data_dir))
        print(f"wrote {where}")
    path, n, rejected = write_leaderboard(Path(args.results), Path(args.output), chart=chart, csv=csv)
    for why in rejected:
        print(f"fxbench: warning: rejected {Path(args.results).as_posix()}/{why}", file=sys.stderr)
    also = [str(p) for p in (chart, csv) if p is not None]
    print(f"wrote {path} from {n} result records" + (f" and {' and '.join(also)}" if also else "")
          + (f"; {len(rejected)} rejected file(s) listed apart" if rejected else ""))
    return 0


COMMANDS = {"run": _cmd_run, "tasks": _cmd_tasks, "models": _cmd_models, "sources": _cmd_sources, "data": _cmd_data,
            "leaderboard": _cmd_leaderboard, "score": _cmd_score, "validate-model": _cmd_validate,
            "new-model": _cmd_new_model, "export": _cmd_export, "rescore": _cmd_rescore,
            "sweep": _cmd_sweep}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _check_clips_per_recording(args)
        return COMMANDS[args.command](args)
    except FxbenchError as exc:
        print(f"fxbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from fxbench.dataset.terminate import Terminated

        killed = isinstance(exc, Terminated)
        print(f"fxbench: {'terminated' if killed else 'interrupted'}; nothing half-written was kept", file=sys.stderr)
        return 143 if killed else 130
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        print(f"fxbench: no space left on device writing {exc.filename or 'a file'}; free space or use "
              f"--data-dir", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
