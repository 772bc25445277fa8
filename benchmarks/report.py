"""Turn a pytest-benchmark JSON into benchmarks/RESULTS.md: every figure as median (min–max) beside its limit.

    python benchmarks/report.py benchmarks/results.json [--output benchmarks/RESULTS.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def _rate(b: dict) -> tuple[float, float, float]:
    """Units per second: median, min, max (the fastest round gives the max rate)."""
    n, st = b["extra_info"]["per_round"], b["stats"]
    return n / st["median"], n / st["max"], n / st["min"]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


TASKS = ("bitcrush", "delay", "limiter", "samplerate")
BUILD_BAR = {"samplerate": 100}  # rows/s a fresh build must reach; 500 for every other task


def _stages(benches: dict, task: str) -> dict[str, float]:
    """Rows/s of each stage alone for ``task`` (synth converted from audio seconds to the task's rows)."""
    stages = {s: _rate(benches[f"test_stage_{s}[{task}]"])[0] for s in ("render", "mel", "parquet")
              if f"test_stage_{s}[{task}]" in benches}
    synth = benches.get("test_stage_synth")
    if synth:  # (dry seconds per second / clip seconds) x grid points
        from fxbench.task import load_task

        t = load_task(task)
        stages["synth"] = _rate(synth)[0] / t.clip_seconds * len(t.grid_points())
    return stages


def _targets(benches: dict) -> list[str]:
    """One row per target of issue #6: what it asks, what this run measured, and whether that meets it."""
    rows = ["| target | measured | met |", "|---|---|---|"]

    def row(target: str, measured: str, ok: bool | None) -> None:
        rows.append(f"| {target} | {measured} | {'n/a' if ok is None else ('yes' if ok else 'no')} |")

    def median(key: str) -> float | None:
        return benches[key]["stats"]["median"] if key in benches else None

    naive = benches.get("test_naive_pipeline")
    for task in TASKS:
        b = benches.get(f"test_build[{task}]")
        if not b:
            continue
        rate, bar = _rate(b)[0], BUILD_BAR.get(task, 500)
        row(f"{task} build ≥ {bar} rows/s", f"{rate:,.0f} rows/s", rate >= bar)
        stages = _stages(benches, task)
        if stages and task not in BUILD_BAR:  # the 2x-of-a-stage target goes with the 500 rows/s one
            slowest = min(stages, key=stages.get)
            ratio = stages[slowest] / rate
            row(f"{task} build within 2x of its slowest stage", f"{ratio:.1f}x ({slowest})", ratio <= 2)
        if naive and task == "bitcrush":
            x = rate / _rate(naive)[0]
            row("bitcrush build ≥ 5x the naive pipeline", f"{x:.1f}x", x >= 5)
    one, two = benches.get("test_stage_synth"), benches.get("test_stage_synth_two_processes")
    if one:
        row("synth source ≥ 200x real time, one process", f"{_rate(one)[0]:,.0f}x", _rate(one)[0] >= 200)
    if two:
        row("synth source ≥ 200x real time, on the 2 cores", f"{_rate(two)[0]:,.0f}x", _rate(two)[0] >= 200)
    cold = benches.get("test_run_bitcrush_cnn_cold")
    if cold:
        t, mae = cold["stats"]["median"], cold["extra_info"]["test_mae"]
        row("cold `fxbench run --task bitcrush --model cnn` ≤ 120 s, MAE ≤ 0.062", f"{t:.1f} s, MAE {mae:.4f}",
            t <= 120 and mae <= 0.062)
    warm = benches.get("test_run_bitcrush_cnn_warm")
    if warm:
        row("warm run's data load ≤ 3 s", f"{warm['extra_info']['load_s']:.2f} s", warm["extra_info"]["load_s"] <= 3)
    for key, target, limit in (("test_help_startup", "`fxbench --help` ≤ 0.5 s", 0.5),
                               ("test_leaderboard_1000_records", "leaderboard over 1,000 records ≤ 2 s", 2.0)):
        t = median(key)
        if t is not None:
            row(target, f"{t:.2f} s", t <= limit)
    mem = benches.get("test_delay_build_peak_memory")
    if mem:
        i = mem["extra_info"]
        row("delay build peak memory ≤ 2 GB, not proportional to size",
            f"{i['peak_mib_delay']:,.0f} MiB for 2,800 rows; {i['peak_mib_bitcrush']:,.0f} MiB for bitcrush's 1,020",
            i["peak_mib_delay"] <= 2048 and i["peak_mib_delay"] < 2 * i["peak_mib_bitcrush"])
    train = [n for n in benches if n.startswith("test_training_throughput")]
    if train:
        cuda = any(benches[n]["extra_info"].get("device", "cpu").startswith("cuda") for n in train)
        row("training uses CUDA when present; GPU speed-up of one baseline",
            "a CUDA run in this file" if cuda else "CPU only: no GPU on this machine", True if cuda else None)
    return rows


def _machine(data: dict) -> str:
    m = data.get("machine_info", {})
    cpu = m.get("cpu", {}).get("brand_raw") or platform.processor() or "?"
    versions = []
    for mod in ("torch", "torchaudio", "pedalboard", "datasets", "timm", "segmentation_models_pytorch"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except Exception:  # a missing optional package is simply not listed
            pass
    return (f"- machine: {os.cpu_count()} CPU cores ({cpu}), {m.get('system', platform.system())}, "
            f"Python {m.get('python_version', platform.python_version())}\n- {', '.join(versions)}\n"
            f"- run at {data.get('datetime', '?')}")


def render(data: dict) -> str:
    benches = {b["name"]: b for b in data["benchmarks"]}
    lines = ["# fxbench benchmarks", "", "Generated by `python benchmarks/report.py` from a run of "
             "`pytest benchmarks --benchmark-only --benchmark-json benchmarks/results.json`; do not edit by hand.",
             "Every figure is the median over the rounds run, with min–max in brackets.", "", "## Machine", "",
             _machine(data), "", "## Figures", "",
             "| benchmark | time per round (s) | throughput | limit |", "|---|---|---|---|"]
    for name in sorted(benches):
        b = benches[name]
        st, info = b["stats"], b["extra_info"]
        med, lo, hi = _rate(b)
        extra = {k: v for k, v in info.items() if k not in ("unit", "per_round", "limit", "task", "stage", "note",
                                                             "model", "audio_seconds", "workers", "device")}
        tail = "".join(f"; {k} {v:.4g}" if isinstance(v, float) else f"; {k} {v}" for k, v in extra.items())
        lines.append(f"| `{name}` | {st['median']:.3f} ({st['min']:.3f}–{st['max']:.3f}) | "
                     f"{_fmt(med)} {info['unit']}/s ({_fmt(lo)}–{_fmt(hi)}){tail} | {info['limit']} |")
    lines += ["", "## Against the targets", "", *_targets(benches), "", "## Details", ""]
    naive = benches.get("test_naive_pipeline")
    floor = benches.get("test_import_floor")
    for task in TASKS:
        b = benches.get(f"test_build[{task}]")
        if not b:
            continue
        rate = _rate(b)[0]
        stages = _stages(benches, task)
        slowest = min(stages, key=stages.get) if stages else None
        xrt = rate * b["extra_info"]["audio_seconds"] / b["extra_info"]["per_round"]
        parts = [f"**{task}**: `fxbench data build` (a fresh process, start-up included) {rate:,.0f} rows/s "
                 f"({xrt:,.0f}x real time in rendered audio)"]
        if slowest:
            parts.append(f"slowest stage alone: {slowest} at {stages[slowest]:,.0f} rows/s (build is "
                         f"{stages[slowest] / rate:.2f}x slower than it)")
            parts.append("stages: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(stages.items())))
        core = benches.get(f"test_stage_all_one_core[{task}]")
        if core:
            one = _rate(core)[0]
            parts.append(f"every stage of a shard on one core: {one:,.0f} rows/s, so two cores reach at most "
                         f"{2 * one:,.0f} (the build gets {rate / (2 * one):.0%} of that)")
        if floor and task not in BUILD_BAR:  # a 100 rows/s target is within the floor's reach
            rows, need = b["extra_info"]["per_round"], b["extra_info"]["per_round"] / 500
            parts.append(f"at 500 rows/s its {rows:,.0f} rows would take {need:.2f} s, against "
                         f"{floor['stats']['median']:.2f} s for a fresh process to import torch alone")
        if naive and task == "bitcrush":
            parts.append(f"speed-up over the naive pipeline (also a fresh process, same rows): "
                         f"{rate / _rate(naive)[0]:.1f}x")
        lines.append("- " + "; ".join(parts) + ".")
    for key, label in (("test_stage_synth", "one process"), ("test_stage_synth_two_processes",
                                                             "two processes, one per core, as a build runs it")):
        if key in benches:
            lines.append(f"- **synth source**, {label}: {_rate(benches[key])[0]:,.0f}x real time.")
    for key, label in (("test_help_startup", "`fxbench --help`"), ("test_leaderboard_1000_records",
                                                                  "leaderboard over 1,000 records"),
                       ("test_warm_data_load", "warm data load (bitcrush splits)"),
                       ("test_import_floor", "fresh `import torch, torchaudio, pedalboard`")):
        if key in benches:
            lines.append(f"- **{label}**: {benches[key]['stats']['median']:.3f} s "
                         f"(limit {benches[key]['extra_info']['limit']}).")
    for key, how, timing in (("test_run_bitcrush_cnn_cold", "cold", ("build_s", "build")),
                             ("test_run_bitcrush_cnn_warm", "warm", ("load_s", "data load"))):
        run = benches.get(key)
        if run:
            i = run["extra_info"]
            lines.append(f"- **{how} `fxbench run --task bitcrush --model cnn`**: {run['stats']['median']:.1f} s "
                         f"({timing[1]} {i[timing[0]]:.2f} s, train {i['train_s']:.1f} s), test MAE "
                         f"{i['test_mae']:.4f}" + (f" (limit {i['limit']})." if how == "cold" else "."))
    mem = benches.get("test_delay_build_peak_memory")
    if mem:
        i = mem["extra_info"]
        lines.append(f"- **peak memory** (Pss of every process of the build at one moment, sampled): delay build "
                     f"{i['peak_mib_delay']:,.0f} MiB (2,800 rows; {i.get('processes_delay', '?')} processes; main "
                     f"{i.get('main_mib_delay', 0):,.0f}, largest other {i.get('worker_mib_delay', 0):,.0f}), bitcrush "
                     f"build {i['peak_mib_bitcrush']:,.0f} MiB (1,020 rows) (limit ≤ 2,048 MiB, not proportional).")
    train = sorted(n for n in benches if n.startswith("test_training_throughput"))
    if train:
        lines.append("- **training throughput (CPU unless CUDA)**: " + ", ".join(
            f"{benches[n]['extra_info']['model']} {_rate(benches[n])[0]:.1f} examples/s" for n in train) + ".")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="pytest-benchmark JSON (--benchmark-json)")
    ap.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    args = ap.parse_args()
    text = render(json.loads(Path(args.json).read_text()))
    tmp = Path(args.output).with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
