"""`fxbench validate-model`: run a submission through every contract check on a handful of real rows.

A broken wrapper should fail here in seconds, with each problem named, not after an hour of training.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from fxbench.dataset.split import SplitData
from fxbench.errors import FxbenchError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _spread(data: SplitData, n: int) -> SplitData:
    """n rows spread over the split (so several grid values and clips are present)."""
    return data.subset(np.unique(np.linspace(0, len(data) - 1, min(n, len(data))).astype(int)))


def _attempt(checks: list[Check], name: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
    t = time.perf_counter()
    try:
        out = fn()
    except FxbenchError:
        raise
    except Exception as exc:  # a submission can fail in any way; report it, don't crash
        first = (str(exc).splitlines() or [""])[0][:160]
        checks.append(Check(name, False, f"raised {type(exc).__name__}: {first}"))
        return False, None
    checks.append(Check(name, True, f"{time.perf_counter() - t:.2f} s"))
    return True, out


def check_predictions(pred: Any, n: int, n_params: int, names: list[str]) -> list[Check]:
    """Shape, dtype, finiteness and range of what ``predict`` returned."""
    arr = np.asarray(pred)
    checks = [Check("shape", arr.shape == (n, n_params),
                    f"{arr.shape}" + ("" if arr.shape == (n, n_params) else
                                      f", expected ({n}, {n_params}): one row per input, one column per "
                                      f"parameter {names}"))]
    floating = np.issubdtype(arr.dtype, np.floating)
    checks.append(Check("dtype", floating, str(arr.dtype) + ("" if floating else
                                                            ", expected a float array (float32 or float64)")))
    if not floating or arr.shape != (n, n_params):
        return checks
    finite = np.isfinite(arr)
    checks.append(Check("finite", bool(finite.all()), "all finite" if finite.all() else
                        f"{int((~finite).any(axis=1).sum())} of {n} rows hold NaN or inf"))
    inside = (arr >= 0) & (arr <= 1)
    checks.append(Check("range", bool(inside[finite].all()), "all in [0, 1]" if inside[finite].all() else
                        f"{int((~inside & finite).sum())} values outside [0, 1] (min {np.nanmin(arr):.3g}, "
                        f"max {np.nanmax(arr):.3g}); predict scaled parameters, e.g. clip to [0, 1]"))
    return checks


def validate_model(spec: str, task_name: str, source: str = "synth", data_seed: int = 0,
                   data_dir: Optional[str] = None, rows: int = 16, progress: bool = True,
                   clips_per_recording: Optional[int] = None) -> list[Check]:
    """Instantiate, fit one short epoch on ``rows`` training rows, predict, and check the output."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.models.base import TrainConfig
    from fxbench.models.registry import resolve_model
    from fxbench.task import load_task

    task = load_task(task_name)
    factory, _ = resolve_model(spec)
    path, _, _ = resolve_dataset(task, source, data_seed, data_dir, progress=progress,
                                 clips_per_recording=clips_per_recording)
    splits = load_splits(path, task)
    train, val = _spread(splits["train"], rows), _spread(splits["validation"], max(2, rows // 2))
    test = _spread(splits["test"], max(2, rows // 2)).without_labels()
    config = TrainConfig(epochs=1, batch_size=min(16, rows), progress=False)

    checks: list[Check] = []
    ok, model = _attempt(checks, "instantiate", lambda: factory(task, config))
    if not ok:
        return checks
    missing = [m for m in ("fit", "predict", "hyperparameters") if not callable(getattr(model, m, None))]
    checks.append(Check("interface", not missing, "fit, predict, hyperparameters" if not missing else
                        f"missing method(s) {', '.join(missing)}; see the model interface in README.md"))
    if missing:
        return checks
    ok, _ = _attempt(checks, "fit", lambda: model.fit(train, val))
    if not ok:
        return checks
    ok, pred = _attempt(checks, "predict", lambda: model.predict(test))
    if ok:
        checks += check_predictions(pred, len(test), len(task.parameters), task.param_names)
    ok, hp = _attempt(checks, "hyperparameters", model.hyperparameters)
    if ok:
        checks.pop()
        try:
            json.dumps(hp)
            good = isinstance(hp, dict)
            checks.append(Check("hyperparameters", good, f"{len(hp)} recorded" if good else
                                f"returned {type(hp).__name__}, expected a dict"))
        except TypeError as exc:
            checks.append(Check("hyperparameters", False, f"not JSON-serialisable ({exc}); return plain "
                                                          f"numbers, strings, lists and dicts"))
    return checks
