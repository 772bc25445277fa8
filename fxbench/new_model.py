"""`fxbench new-model NAME`: write a ready-to-edit model file that already passes validate-model."""
from __future__ import annotations

import re
from pathlib import Path

from fxbench.errors import FxbenchError

TEMPLATE = '''"""{name}: a model for fxbench (edit this docstring: what it is, who made it).

Try it:   fxbench validate-model {file}:{cls} --task bitcrush
Run it:   fxbench run --task bitcrush --model {file}:{cls}
Share it: put this file in fxbench's baselines/ folder, or register it from your own package:
          [project.entry-points."fxbench.models"]  {name} = "your_package.module:{cls}"
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fxbench.models import register_model


@register_model("{name}", "band-energy ridge regression (template: replace with your model)")
class {cls}:
    """Mean dB level of each Mel band -> ridge regression. A fast, honest starting point.

    The interface: built as {cls}(task, config); fit(train, validation); predict(data) returns an
    (n, n_params) float array scaled to [0, 1] in the task's parameter order; hyperparameters()
    returns everything that affects the result. data.x is (n, 1, n_mels, n_frames) in [0, 1];
    train.y is (n, n_params) in [0, 1]; data.y is None at predict time.
    For a torch network, subclass fxbench.models.torch_model.TorchRegressor instead and implement
    build_network(): it then trains with the paper's protocol (L1, Adam, StepLR, best epoch).
    """

    def __init__(self, task: Any, config: Any) -> None:
        self.task, self.config = task, config
        self.ridge = 1e-2
        self.weights: np.ndarray | None = None

    def _features(self, x: np.ndarray) -> np.ndarray:
        bands = x[:, 0].mean(axis=2)                       # (n, n_mels): mean level per band
        quiet = np.quantile(x[:, 0], 0.1, axis=2)          # (n, n_mels): the quietest frames
        return np.hstack([bands, quiet, np.ones((len(x), 1))])

    def fit(self, train: Any, validation: Any) -> None:
        f = self._features(train.x)
        a = f.T @ f + self.ridge * np.eye(f.shape[1])
        self.weights = np.linalg.solve(a, f.T @ train.y)

    def predict(self, data: Any) -> np.ndarray:
        return np.clip(self._features(data.x) @ self.weights, 0.0, 1.0).astype(np.float32)

    def hyperparameters(self) -> dict[str, Any]:
        return {{"features": "mean and 10th-percentile level per Mel band", "ridge": self.ridge}}
'''


def write_template(name: str, out: Path | None = None) -> tuple[Path, str]:
    """Write the template for model ``name``; return (file, class name). Never overwrites."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
        raise FxbenchError(f"model name {name!r} must start with a letter and hold only letters, digits, "
                           f"'-' and '_'", exit_code=2)
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name) if part) or "MyModel"
    path = Path(out) if out else Path(f"{name.replace('-', '_')}.py")
    if path.exists():
        raise FxbenchError(f"{path} already exists; pick another --out or delete it first", exit_code=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(name=name, cls=cls, file=path.as_posix()), encoding="utf-8")
    return path, cls
