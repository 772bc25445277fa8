"""Build one task's default dataset; print the peak memory of the build's whole process tree as JSON (MiB).

The build runs in this process, a fork server and its workers (not all children of this process), so
``getrusage`` cannot see them all: their memory is sampled from /proc every 50 ms instead, and the peak is
the largest sum seen at one moment. Each process counts its proportional set size (Pss): the workers fork
from the server and share its torch pages, which a sum of resident sets would count once per process.
This process's own peak is its VmHWM (exact, resident).
Usage: python benchmarks/peak_build.py TASK OUT_DIR
"""
from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path


def _kib(path: str, field: str) -> int:
    with open(path) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def tree_pss(root: int) -> dict[int, int]:
    """pid -> proportional set size in KiB, for ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        try:
            out[pid] = _kib(f"/proc/{pid}/smaps_rollup", "Pss:")
        except (OSError, StopIteration):
            continue
        todo += children.get(pid, [])
    return out


def main() -> None:
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source
    from fxbench.task import load_task

    task = load_task(sys.argv[1])
    peak = {"total": 0, "largest_other": 0, "processes": 0}
    done = threading.Event()

    def sample() -> None:
        me = os.getpid()
        while not done.wait(0.05):
            rss = tree_pss(me)
            peak["total"] = max(peak["total"], sum(rss.values()))
            peak["largest_other"] = max([peak["largest_other"], *(v for p, v in rss.items() if p != me)])
            peak["processes"] = max(peak["processes"], len(rss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    build_dataset(task, open_source("synth", task, 0), 0, Path(sys.argv[2]), progress=False)
    done.set()
    sampler.join()
    mib = {k: round(v / 1024, 1) for k, v in peak.items() if k != "processes"}
    print(json.dumps({**mib, "main": round(_kib(f"/proc/{os.getpid()}/status", "VmHWM") / 1024, 1),
                      "processes": peak["processes"]}))


if __name__ == "__main__":
    main()
