"""Benchmarks: offline, a private cache, and each figure's limit from issue #6 attached to it.

Run with ``pytest benchmarks --benchmark-only --benchmark-json benchmarks/results.json`` and turn the
JSON into RESULTS.md with ``python benchmarks/report.py benchmarks/results.json``. Not part of the
default test command (testpaths = tests): these take minutes and measure the machine.
"""
from __future__ import annotations

import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
MADE = []  # the caches made here (not the caller's own), removed when the session ends
for var, prefix in (("HF_DATASETS_CACHE", "fxbench-bench-hf-"), ("FXBENCH_CACHE", "fxbench-bench-cache-")):
    if var not in os.environ:
        os.environ[var] = tempfile.mkdtemp(prefix=prefix)
        MADE.append(os.environ[var])


def pytest_sessionfinish(session, exitstatus) -> None:
    for d in MADE:
        shutil.rmtree(d, ignore_errors=True)


def record(benchmark, *, unit: str, per_round: float, limit: str, **extra) -> None:
    """Attach what the report needs: how many units one round processes, and the target to beat."""
    benchmark.extra_info.update({"unit": unit, "per_round": per_round, "limit": limit, **extra})
