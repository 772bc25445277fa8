"""Benchmarks: offline, a private cache, and each figure's limit from issue #6 attached to it.

Run with ``pytest benchmarks --benchmark-only --benchmark-json benchmarks/results.json`` and turn the
JSON into RESULTS.md with ``python benchmarks/report.py benchmarks/results.json``. Not part of the
default test command (testpaths = tests): these take minutes and measure the machine.
"""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="fxbench-bench-hf-"))
os.environ.setdefault("FXBENCH_CACHE", tempfile.mkdtemp(prefix="fxbench-bench-cache-"))


def record(benchmark, *, unit: str, per_round: float, limit: str, **extra) -> None:
    """Attach what the report needs: how many units one round processes, and the target to beat."""
    benchmark.extra_info.update({"unit": unit, "per_round": per_round, "limit": limit, **extra})
