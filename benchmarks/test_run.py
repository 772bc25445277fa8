"""End-to-end and start-up figures: `fxbench run` cold and warm, `--help`, the leaderboard, training
throughput per baseline, and the peak memory of the default delay build."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import record

FXBENCH = [sys.executable, "-m", "fxbench"]
BASELINES = ("cnn", "cnn-meanmax", "encdec", "unet", "timm:resnet18", "smp:unet-resnet18")


def _env(cache: Path) -> dict:
    return {**os.environ, "FXBENCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}


def test_help_startup(benchmark):
    benchmark.pedantic(lambda: subprocess.run([*FXBENCH, "--help"], check=True, capture_output=True),
                       rounds=5, iterations=1, warmup_rounds=1)
    record(benchmark, unit="runs", per_round=1, limit="≤ 0.5 s")


def test_run_bitcrush_cnn_cold(benchmark, tmp_path):
    """Cold: empty cache (the dataset is built). The record's MAE is kept to check it stays ≤ 0.062."""
    cache = tmp_path / "cache"
    out = tmp_path / "r.json"

    def cold():
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([*FXBENCH, "run", "--task", "bitcrush", "--model", "cnn", "--quiet", "--output", str(out)],
                       check=True, capture_output=True, env=_env(cache))

    benchmark.pedantic(cold, rounds=1, iterations=1)
    rec = json.loads(out.read_text())
    record(benchmark, unit="runs", per_round=1, limit="≤ 120 s, test MAE ≤ 0.062", test_mae=rec["metrics"]["mae"],
           build_s=rec["timing"]["build_s"], train_s=rec["timing"]["train_s"])


def test_run_bitcrush_cnn_warm(benchmark, tmp_path):
    """Warm: the dataset is already in the cache (built once, untimed), so only loading and training remain."""
    cache = tmp_path / "cache"
    out = tmp_path / "r.json"
    cmd = [*FXBENCH, "run", "--task", "bitcrush", "--model", "cnn", "--quiet", "--output", str(out)]
    from fxbench.dataset.cache import resolve_dataset  # fill the cache the run will use
    from fxbench.task import load_task

    os.environ["FXBENCH_CACHE"], old = str(cache), os.environ.get("FXBENCH_CACHE", "")
    try:
        resolve_dataset(load_task("bitcrush"), progress=False)
    finally:
        os.environ["FXBENCH_CACHE"] = old
    benchmark.pedantic(lambda: subprocess.run(cmd, check=True, capture_output=True, env=_env(cache)),
                       rounds=1, iterations=1)
    rec = json.loads(out.read_text())
    t = rec["timing"]
    record(benchmark, unit="runs", per_round=1, limit="(report; data load ≤ 3 s; re-render ≤ 10% of the run)",
           test_mae=rec["metrics"]["mae"], load_s=t["load_s"], train_s=t["train_s"], rerender_s=t["rerender_s"],
           rerender_share=round(t["rerender_s"] / t["total_s"], 4))


def test_rerender_metric(benchmark):
    """The re-render metric alone on the default bitcrush test split (what `run` adds after predicting)."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.rerender import rerender_metrics
    from fxbench.task import load_task

    task = load_task("bitcrush")
    path, _, _ = resolve_dataset(task, progress=False)
    splits = load_splits(path, task)
    test, mean = splits["test"], splits["train"].y.mean(axis=0)
    benchmark.pedantic(lambda: rerender_metrics(task, path, test.ids, test.clip_ids, test.y, mean),
                       rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, unit="rows", per_round=len(test), limit="≤ 10% of a cnn run's wall time (see the warm run)")


def test_warm_data_load(benchmark):
    """Loading a cached dataset's splits (what a warm `fxbench run` does before training)."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.task import load_task

    task = load_task("bitcrush")
    path, _, _ = resolve_dataset(task, progress=False)
    benchmark.pedantic(lambda: load_splits(path, task), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, unit="loads", per_round=1, limit="≤ 3 s")


@pytest.mark.parametrize("model", BASELINES)
def test_training_throughput(benchmark, model):
    """Examples per second of one training epoch on 64 bitcrush rows (batch 16, CPU unless CUDA); includes
    building the network and one validation pass, so it slightly understates steady-state speed. One
    untimed warm-up round first: without it the first model benchmarked paid torch's one-off start-up
    (its figure was 22 examples/s; warm, the same model does about 290)."""
    import torch

    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.models import TrainConfig, create_model
    from fxbench.task import load_task

    task = load_task("bitcrush")
    path, _, _ = resolve_dataset(task, progress=False)
    splits = load_splits(path, task)
    train = splits["train"].subset(np.arange(64))
    val = splits["validation"].subset(np.arange(16))

    def fit():
        create_model(model, task, TrainConfig(epochs=1, progress=False)).fit(train, val)

    benchmark.pedantic(fit, rounds=2, iterations=1, warmup_rounds=1)
    record(benchmark, unit="examples", per_round=len(train), limit="(report)", model=model,
           device="cuda" if torch.cuda.is_available() else "cpu",
           note="two stages (reconstruct + head) per epoch" if model in ("encdec", "unet") else "")


def _fake_records(folder: Path, n: int) -> None:
    template = json.loads(next(Path("leaderboard/results").rglob("*.json")).read_text())
    rng = random.Random(0)
    for i in range(n):
        r = dict(template)
        r["model"] = f"model-{i % 50:02d}"
        r["seed"] = i // 50
        target = rng.uniform(0.02, 0.4)
        r["row_abs_errors"] = [round(rng.uniform(0, 2 * target), 6) for _ in range(len(template["row_abs_errors"]))]
        r["metrics"] = {**template["metrics"], "mae": sum(r["row_abs_errors"]) / len(r["row_abs_errors"])}
        (folder / template["task"]).mkdir(parents=True, exist_ok=True)
        (folder / template["task"] / f"{i:04d}.json").write_text(json.dumps(r))


def test_leaderboard_1000_records(benchmark, tmp_path):
    results = tmp_path / "results"
    _fake_records(results, 1000)
    out = tmp_path / "LEADERBOARD.md"
    benchmark.pedantic(lambda: subprocess.run([*FXBENCH, "leaderboard", "--results", str(results), "--output",
                                               str(out)], check=True, capture_output=True),
                       rounds=3, iterations=1)
    record(benchmark, unit="renders", per_round=1, limit="≤ 2 s")


def test_delay_build_peak_memory(benchmark, tmp_path):
    """Peak memory of building the default delay and bitcrush datasets, every process of the build at one
    moment (main, fork server, workers; see peak_build.py); streamed, so not proportional to size."""
    script = Path(__file__).with_name("peak_build.py")
    peaks = {}

    def build():
        for name in ("bitcrush", "delay"):
            out = subprocess.run([sys.executable, str(script), name, str(tmp_path / name)], check=True,
                                 capture_output=True, text=True, env=_env(tmp_path / "cache"))
            peaks[name] = json.loads(out.stdout.strip().splitlines()[-1])
            shutil.rmtree(tmp_path / name, ignore_errors=True)

    benchmark.pedantic(build, rounds=1, iterations=1)
    record(benchmark, unit="builds", per_round=2, limit="delay peak ≤ 2048 MiB, not proportional to size",
           peak_mib_delay=peaks["delay"]["total"], peak_mib_bitcrush=peaks["bitcrush"]["total"],
           main_mib_delay=peaks["delay"]["main"], worker_mib_delay=peaks["delay"]["largest_other"],
           processes_delay=peaks["delay"]["processes"])
