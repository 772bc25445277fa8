"""Jobs in a pool of fresh processes on this machine (spawned: no state shared with the caller)."""
from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Callable, Sequence

from fxbench.errors import FxbenchError
from fxbench.executors import Job, OnDone, Resources, register_executor


def _threads(n: int) -> None:
    """Each worker's torch threads: what a job asks for (by default the machine's cores shared out)."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:  # a job that needs no torch
        pass


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int) -> None:
        self.slots = workers

    def run_jobs(self, fn: Job, payloads: Sequence[dict], resources: Resources, on_start: Callable[[int], None],
                 on_done: OnDone) -> None:
        threads = max(1, int(resources.cpus))
        pool = ProcessPoolExecutor(max_workers=self.slots, mp_context=get_context("spawn"), initializer=_threads,
                                   initargs=(threads,))
        waiting = list(range(len(payloads)))
        running: dict = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.slots:  # submitted only when a worker is free
                    i = waiting.pop(0)
                    running[pool.submit(fn, payloads[i])] = i
                    on_start(i)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    i = running.pop(future)
                    error = future.exception()
                    on_done(i, None if error else future.result(), error)
        except BaseException:
            for future in running:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def close(self) -> None:
        pass


@register_executor("local")
def open_local(spec: str) -> LocalExecutor:
    _, _, n = spec.partition(":")
    if n and not (n.isdigit() and int(n) >= 1):
        raise FxbenchError(f"--executor {spec}: the worker count must be a whole number ≥ 1 (local:2)", exit_code=2)
    return LocalExecutor(int(n) if n else 1)
