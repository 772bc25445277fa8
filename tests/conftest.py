"""Shared fixtures: offline Hugging Face, a private cache, and one small real bitcrush dataset."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# datasets reads its cache location at import time, so set it before anything imports datasets
HF_CACHE = tempfile.mkdtemp(prefix="fxbench-tests-hf-")
os.environ["HF_DATASETS_CACHE"] = HF_CACHE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The datasets caches hold a copy of every dataset the tests load (about 400 MB a run): remove them
    (fxbench keeps its arrow copies under its own cache root, one folder per dataset content)."""
    shutil.rmtree(HF_CACHE, ignore_errors=True)
    if os.environ.get("FXBENCH_CACHE"):
        shutil.rmtree(Path(os.environ["FXBENCH_CACHE"]) / "hf-datasets", ignore_errors=True)


SMALL_BITCRUSH = """\
task: small_bitcrush
version: 1
description: Bitcrush on a few clips, for tests.
effect: {plugin: Bitcrush, fixed: {}}
parameters:
  - {name: bit_depth, unit: bits, grid: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
     range: [0, 16], bypass: 16}
dataset: {clips: 12, clips_per_recording: 1}
"""


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("fxbench-cache")
    os.environ["FXBENCH_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of extra task files, registered through FXBENCH_TASK_PATH."""
    d = tmp_path_factory.mktemp("tasks")
    (d / "small_bitcrush.yaml").write_text(SMALL_BITCRUSH)
    os.environ["FXBENCH_TASK_PATH"] = str(d)
    return d


@pytest.fixture(scope="session")
def small_task(task_dir: Path):
    from fxbench.task import load_task

    return load_task("small_bitcrush")


@pytest.fixture(scope="session")
def small_dataset(small_task, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 synth clips x 17 bit depths = 204 rows, built once for the session with the real pipeline."""
    from fxbench.dataset.build import build_dataset
    from fxbench.sources import open_source

    out = tmp_path_factory.mktemp("data") / "small_bitcrush"
    build_dataset(small_task, open_source("synth", small_task, 0), 0, out, progress=False)
    return out


@pytest.fixture(scope="session")
def small_splits(small_task, small_dataset):
    from fxbench.dataset.load import load_splits

    return load_splits(small_dataset, small_task)


@pytest.fixture
def datasets_warnings():
    """The messages `datasets` logs at warning level or above while the test runs (fxbench's own loads
    silence them, so the verbosity is set here and restored after)."""
    import logging

    import datasets

    records: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler, logger = _Keep(logging.WARNING), logging.getLogger("datasets")
    before = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity_warning()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        datasets.logging.set_verbosity(before)
