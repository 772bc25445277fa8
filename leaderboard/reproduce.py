"""Re-create the committed records of the evaluation conditions: synth -> synth, synth -> real and
real -> real, for random, mean and cnn on every task (and cnn on paired input, the reference-matching
track), then render the leaderboard.

    python leaderboard/reproduce.py                      # the committed records (hours on 2 cores)
    python leaderboard/reproduce.py --di PATH            # also score on a folder of your own DI recordings

Each synth-trained model is trained once and scored on the synth test split and on the shipped GuitarSet
excerpts' test player (`--also-eval`), so its two scores come from one training. Runs happen in a scratch
folder; only records whose sources every install has (synth, guitarset-excerpts) are copied into
leaderboard/results/. Records scored on `--di` stay in the scratch folder (they name a path on this
machine) and are summarised at the end, by the folder's content fingerprint, for leaderboard/notes.md.
CPU training is bit-identical only on the same machine and thread count (each record stores both:
environment.platform and environment.torch_threads). A record copied in replaces the committed one of
the same model, seed and datasets: committed names carry no run id.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

TASKS = ("bitcrush", "delay", "limiter", "samplerate", "distortion", "compressor", "reverb", "lowpass",
         "chorus", "phaser", "eq", "mp3", "slapback", "chain", "detect")
EXCERPTS = "guitarset-excerpts"
HERE = Path(__file__).resolve().parent


def _runs(task: str, seeds: list[int], di: str | None, paired: bool = True) -> list[list[str]]:
    """fxbench run argument lists for one task."""
    di_eval = ["--also-eval", f"folder:{di}"] if di else []
    out = []
    for model, model_seeds in (("random", [0]), ("mean", [0]), ("cnn", seeds)):
        for seed in model_seeds:
            base = ["run", "--task", task, "--model", model, "--seed", str(seed), "--quiet"]
            out.append([*base, "--source", "synth", "--eval-source", EXCERPTS, "--also-eval", "own", *di_eval])
            out.append([*base, "--source", EXCERPTS])
            if di and model != "random" and seed == model_seeds[0]:
                out.append([*base, "--source", f"folder:{di}"])
    if paired:  # the reference-matching track: cnn with the dry clip beside the wet one, first seed
        base = ["run", "--task", task, "--model", "cnn", "--seed", str(seeds[0]), "--input", "paired", "--quiet"]
        out.append([*base, "--source", "synth", "--eval-source", EXCERPTS, "--also-eval", "own"])
        out.append([*base, "--source", EXCERPTS])
    return out


def _accuracy(metrics: dict) -> str:
    """Grid accuracy, or a sampled task's within-tolerance share."""
    if metrics.get("grid_accuracy") is not None:
        return f"grid acc {metrics['grid_accuracy']:.2f}"
    return f"within tol {metrics['within_tolerance']:.2f}"


def _portable(record: dict) -> bool:
    """Whether every install can rebuild the record's datasets (no machine paths)."""
    return all(not str(s or "").startswith("folder:") for s in (record["source"], record.get("eval_source")))


def _copy_in(scratch: Path) -> list[dict]:
    """Copy the scratch folder's portable records (and their figures) into leaderboard/results/; return the
    others."""
    from fxbench.destination import record_stem, slug

    results = HERE / "results"
    kept = []
    for path in sorted((scratch / "results").rglob("*.json")):
        record = json.loads(path.read_text())
        if _portable(record):
            # committed under the name without the run id: re-creating a record replaces it, on purpose
            dest = results / slug(record["task"]) / record_stem(record)
            dest.parent.mkdir(parents=True, exist_ok=True)
            for suffix in (".json", ".confusion.png", ".loss.png"):  # the record and its own figures only
                f = path.with_name(path.stem + suffix)
                if f.is_file():
                    shutil.copy2(f, dest.with_name(dest.name + suffix))
        else:
            kept.append(record)
    return kept


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--seeds", default="0,1,2", help="cnn seeds")
    p.add_argument("--di", default=None, help="a folder of real DI recordings to score on as well (not committed)")
    p.add_argument("--no-paired", action="store_true", help="skip the paired-input (reference-matching) cnn runs")
    p.add_argument("--scratch", default=None, help="where the runs write (default: a new temporary folder)")
    args = p.parse_args(argv)
    from fxbench.cli import main as fxbench

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="fxbench-reproduce-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    import os

    os.chdir(scratch)
    kept: list[dict] = []
    for task in args.tasks.split(","):
        for run in _runs(task, seeds, args.di, not args.no_paired):
            print("fxbench " + " ".join(run), flush=True)
            if fxbench(run) != 0:
                print(f"reproduce: failed: fxbench {' '.join(run)}", file=sys.stderr)
                return 1
        kept = _copy_in(scratch)  # after every task, so that a stopped reproduction keeps the tasks it finished
    os.chdir(HERE.parent)
    fxbench(["tasks", "--details", "--json", str(HERE / "identifiability.json")])
    fxbench(["leaderboard", "--chart", str(HERE / "summary.png")])
    if kept:
        print(f"\nrecords on --di (left in {scratch}):")
        for r in sorted(kept, key=lambda r: (r["task"], r["condition"], r["model"], r["seed"])):
            fp = r.get("eval_dataset_fingerprint") or r["dataset_fingerprint"]
            print(f"{r['task']:<11} {r['condition']:<15} {r['model']:<7} seed {r['seed']}  MAE {r['metrics']['mae']:.4f}"
                  f"  {_accuracy(r['metrics'])}  n {r['n_test']}  on {fp[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
