"""Recording -> processed clips (dry cut, renders, Mel); groups of recordings -> shards, in a pool of workers.

The build consumes shard results strictly in each split's order and decides there which clips to keep, so
the dataset is byte-for-byte the same for any number of workers; workers only compute (and write) ahead.
Each worker holds its own plugins and Mel filterbank and uses one torch thread (the cores go to the workers).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import numpy as np

from fxbench.dataset.clips import Clip, ClipPolicy, cut_clips
from fxbench.dataset.shards import ShardJob
from fxbench.errors import FxbenchError
from fxbench.sources.base import Source
from fxbench.task import TaskConfig

WORKER_IMPORTS = ["fxbench.dataset.forkserver_quiet", "torch", "torchaudio", "pedalboard", "fxbench.features",
                  "fxbench.render", "fxbench.dataset.audio", "fxbench.dataset.shards", "fxbench.dataset.workers", "fxbench.sources"]
MIN_CLIPS_FOR_WORKERS = 32  # below this, starting processes (about 3 s) costs more than it saves
# clip, renders (int16), mel (f16), dry mel (f16), and for a sampled task each parameter's draws (else None)
Made = tuple[Clip, np.ndarray, np.ndarray, np.ndarray, Optional[dict[str, np.ndarray]]]


def default_workers(task: TaskConfig) -> int:
    env = os.environ.get("FXBENCH_WORKERS", "")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise FxbenchError(f"FXBENCH_WORKERS={env!r} is not a whole number; set it to 1 or more") from None
        if n < 1:
            raise FxbenchError(f"FXBENCH_WORKERS={env} must be at least 1")
        return n
    return max(1, os.cpu_count() or 1) if task.dataset.clips >= MIN_CLIPS_FOR_WORKERS else 1


class ClipMaker:
    """One recording id -> (its metadata, every kept clip with renders and Mel spectrograms)."""

    def __init__(self, task: TaskConfig, source: Source) -> None:
        from fxbench.features import MelFeatures
        from fxbench.render import GridRenderer

        self.task, self.source = task, source
        self.policy = ClipPolicy.for_task(task, source)
        self.renderer = GridRenderer(task)
        self.features = MelFeatures(task.features, task.sample_rate)
        self.bypass = next((i for i, e in enumerate(self.renderer.effects) if e is None), None)

    def __call__(self, rid: str, seed: int = 0) -> tuple[str, dict, list[Made]]:
        """``seed``: the dataset's, which (with the clip id) sets a sampled task's draws."""
        from fxbench.render import from_int16
        from fxbench.sampling import draws

        rec = self.source.load(rid)
        if rec.sample_rate != self.task.sample_rate:
            raise FxbenchError(f"recording {rid} is at {rec.sample_rate} Hz; the task needs "
                               f"{self.task.sample_rate} Hz")
        made = []
        for clip in cut_clips(rec, self.policy):
            values = draws(self.task, seed, clip.clip_id) if self.task.is_sampled else None
            renders = self.renderer.render(clip.pcm) if values is None else self.renderer.render_at(clip.pcm, values)
            mel = self.features(from_int16(renders)).astype(np.float16)
            dry_mel = mel[self.bypass] if self.bypass is not None else \
                self.features(from_int16(clip.pcm[None]))[0].astype(np.float16)
            made.append((clip, renders, mel, dry_mel, values))
        return rid, rec.meta, made


class _Done:
    """An already computed result, with a future's ``result()``: the one-process path."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


@contextmanager
def shard_pool(task: TaskConfig, source: Source, workers: int | None = None
               ) -> Iterator[tuple[Callable[[ShardJob], Any], int]]:
    """(submit: job -> future of its ShardResult, how many jobs to keep in flight)."""
    from fxbench.dataset.shards import ShardMaker, storage_schemas

    n = default_workers(task) if workers is None else workers
    if n <= 1:
        maker, schemas = ShardMaker(task, source), storage_schemas(task)
        yield (lambda job: _Done(maker(job, schemas))), 1
        return
    import multiprocessing
    import multiprocessing.forkserver
    from concurrent.futures import ProcessPoolExecutor

    # Not fork: a forked child of a process that already ran torch's OpenMP threads can hang. A fork server
    # is a fresh, single-threaded process that imports torch once; each worker forks from it ready-made
    # instead of importing torch itself (about 3 s per worker, all at once on a 2-core machine).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_IMPORTS)
    multiprocessing.forkserver.ensure_running()  # returns at once: the server imports while `datasets` loads here
    schemas = storage_schemas(task)
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init, initargs=(task, source)) as executor:
        try:
            yield (lambda job: executor.submit(_make, job, schemas)), 2 * n
        except BaseException:
            _stop_workers(executor)
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def _stop_workers(executor: Any) -> None:
    """A failed or interrupted build needs no running job's result: end the workers now, rather than wait
    for each to finish its job (a SIGTERM reaches only the main process, so they would go on rendering)."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.terminate()  # the shutdown that follows joins them


_MAKER: Any = None


def _init(task: TaskConfig, source: Source) -> None:
    import atexit
    import signal

    import torch

    from fxbench.dataset.shards import ShardMaker

    global _MAKER
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the fork server ignores it (forkserver_quiet)
    torch.set_num_threads(1)
    _MAKER = ShardMaker(task, source)
    # A worker's shards are closed and its results sent before it is told to stop; skipping the
    # interpreter's teardown (about 1 s for torch) lets the build finish that much sooner. Registered
    # last, so it runs first.
    atexit.register(os._exit, 0)


def _make(job: ShardJob, schemas: tuple[Any, Any]) -> Any:
    assert _MAKER is not None
    return _MAKER(job, schemas)
