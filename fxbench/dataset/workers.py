"""Recording -> processed clips (dry cut, renders, Mel), in this process or in a pool of workers.

The build loop consumes results strictly in recording order and decides there which clips to keep, so
the dataset is byte-for-byte the same for any number of workers; workers only compute ahead. Each worker
holds its own plugins and Mel filterbank and uses one torch thread (the cores go to the workers).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from fxbench.dataset.clips import Clip, ClipPolicy, cut_clips
from fxbench.errors import FxbenchError
from fxbench.sources.base import Source
from fxbench.task import TaskConfig

MIN_CLIPS_FOR_WORKERS = 64  # below this, starting processes costs more than it saves
Made = tuple[Clip, np.ndarray, np.ndarray, np.ndarray]  # clip, renders (int16), mel (f16), dry mel (f16)


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
        self.policy = ClipPolicy.for_task(task)
        self.renderer = GridRenderer(task)
        self.features = MelFeatures(task.features, task.sample_rate)
        self.bypass = next((i for i, e in enumerate(self.renderer.effects) if e is None), None)

    def __call__(self, rid: str) -> tuple[str, dict, list[Made]]:
        from fxbench.render import from_int16

        rec = self.source.load(rid)
        if rec.sample_rate != self.task.sample_rate:
            raise FxbenchError(f"recording {rid} is at {rec.sample_rate} Hz; the task needs "
                               f"{self.task.sample_rate} Hz")
        made = []
        for clip in cut_clips(rec, self.policy):
            renders = self.renderer.render(clip.pcm)
            mel = self.features(from_int16(renders)).astype(np.float16)
            dry_mel = mel[self.bypass] if self.bypass is not None else \
                self.features(from_int16(clip.pcm[None]))[0].astype(np.float16)
            made.append((clip, renders, mel, dry_mel))
        return rid, rec.meta, made

    @classmethod
    @contextmanager
    def pool(cls, task: TaskConfig, source: Source, workers: int | None = None
             ) -> Iterator[Callable[[list[str], Callable[[str], bool]], Iterator[tuple[str, dict, list[Made]]]]]:
        """A function (ids in order, still-wanted test) -> results in that order, skipping unwanted ids."""
        n = default_workers(task) if workers is None else workers
        if n <= 1:
            maker = cls(task, source)
            yield lambda ids, wanted: (maker(rid) for rid in ids if wanted(rid))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked child of a process that already ran torch's OpenMP threads can hang
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                                 initargs=(task, source)) as executor:
            yield lambda ids, wanted: _ahead(executor, ids, wanted, 2 * n)


_MAKER: ClipMaker | None = None


def _init(task: TaskConfig, source: Source) -> None:
    import torch

    global _MAKER
    torch.set_num_threads(1)
    _MAKER = ClipMaker(task, source)


def _make(rid: str) -> tuple[str, dict, list[Made]]:
    assert _MAKER is not None
    return _MAKER(rid)


def _ahead(executor: Any, ids: list[str], wanted: Callable[[str], bool], depth: int
           ) -> Iterator[tuple[str, dict, list[Made]]]:
    """Keep ``depth`` wanted ids in flight; yield results in id order. ``wanted`` is re-asked at submit time,
    so once a split is full its remaining recordings are not computed."""
    from collections import deque

    queue: deque = deque()
    it = iter(ids)
    while True:
        while len(queue) < depth:
            rid = next((r for r in it if wanted(r)), None)
            if rid is None:
                break
            queue.append(executor.submit(_make, rid))
        if not queue:
            return
        yield queue.popleft().result()
