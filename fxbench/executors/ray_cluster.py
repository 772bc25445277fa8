"""Jobs as Ray tasks: a local Ray (``ray``) or a cluster (``ray://HOST:PORT``, ``ray:auto`` or RAY_ADDRESS).

Every job asks for its CPUs and GPUs, so a cluster runs as many at once as it has room for. Jobs write
their outputs themselves, so the results folder must be a path every node can reach (a shared file system).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

from fxbench.errors import FxbenchError
from fxbench.executors import Job, OnDone, Resources, register_executor

#: The driver's variables that say where fxbench finds its tasks and caches; passed on to every worker.
PASSED_ON = ("FXBENCH_CACHE", "FXBENCH_TASK_PATH", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HOME",
             "XDG_CACHE_HOME")


def _threads_then(fn: Job, threads: int) -> Job:
    def job(payload: dict):
        import torch

        torch.set_num_threads(threads)
        return fn(payload)

    return job


class RayExecutor:
    name = "ray"

    def __init__(self, spec: str) -> None:
        try:
            import ray
        except ImportError:
            raise FxbenchError(f"--executor {spec} needs Ray: pip install \"fxbench[ray]\"", exit_code=2) from None
        self.ray = ray
        self.owned = not ray.is_initialized()  # a cluster the caller started stays up after the jobs
        if self.owned:
            address = spec.partition(":")[2] if spec.startswith("ray:") and not spec.startswith("ray://") else \
                spec if spec.startswith("ray://") else os.environ.get("RAY_ADDRESS") or None
            env = {k: os.environ[k] for k in PASSED_ON if k in os.environ}
            try:
                ray.init(address=address, runtime_env={"env_vars": env}, include_dashboard=False,
                         log_to_driver=False, logging_level="ERROR")
            except Exception as exc:  # noqa: BLE001 - Ray raises several kinds for an unreachable cluster
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise FxbenchError(f"--executor {spec}: could not reach a Ray cluster at {address or 'a new local one'} "
                                   f"({first}); start one with `ray start --head`, or use --executor local",
                                   exit_code=2) from None
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run_jobs(self, fn: Job, payloads: Sequence[dict], resources: Resources, on_start: Callable[[int], None],
                 on_done: OnDone) -> None:
        ray = self.ray
        remote = ray.remote(_threads_then(fn, max(1, int(resources.cpus)))).options(
            num_cpus=resources.cpus, num_gpus=resources.gpus, max_retries=0)
        running = {}
        for i, payload in enumerate(payloads):
            running[remote.remote(payload)] = i
            on_start(i)
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    i = running.pop(ref)
                    try:
                        result, error = ray.get(ref), None
                    except ray.exceptions.RayTaskError as exc:
                        result, error = None, exc.as_instanceof_cause()
                    except ray.exceptions.RayError as exc:  # a worker that died, a lost node
                        result, error = None, RuntimeError(f"the Ray worker failed: {str(exc).splitlines()[0]}")
                    on_done(i, result, error)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()


@register_executor("ray")
def open_ray(spec: str) -> RayExecutor:
    return RayExecutor(spec)
