"""A shared trainer for torch regressors: L1 on scaled parameters, Adam, StepLR, best validation epoch.

Wrappers for the paper's CNN, timm backbones and the like only say how to build the network.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

import numpy as np

from fxbench.dataset.split import SplitData
from fxbench.models.base import TrainConfig
from fxbench.progress import progress_bar
from fxbench.task import TaskConfig


def resolve_device(spec: str):
    """``auto`` picks CUDA when present; anything else is handed to torch.device."""
    import torch

    from fxbench.errors import FxbenchError

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise FxbenchError(f"unknown device {spec!r}; use auto, cpu or cuda[:N]", exit_code=2) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FxbenchError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu", exit_code=2)
    return device


def seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


class TorchRegressor:
    """Base class: subclasses implement ``build_network()`` returning (B, C, F, T) -> (B, n_params), where C
    is ``self.in_channels`` (1 on the wet track, 2 on the paired one); a subclass whose network reads C
    declares ``inputs = ("wet", "paired")``."""

    loss_name = "l1"
    inputs: tuple[str, ...] = ("wet",)
    channels_last = True  # NHWC convolutions: ~15% faster on CPU (oneDNN) and on tensor-core GPUs

    def __init__(self, task: TaskConfig, config: TrainConfig) -> None:
        self.task = task
        self.config = config
        self.n_outputs = len(task.parameters)
        self.net = None
        self.history: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.in_channels = 1

    def build_network(self):
        raise NotImplementedError

    def network_hyperparameters(self) -> dict[str, Any]:
        return {}

    def hyperparameters(self) -> dict[str, Any]:
        hp = {"loss": self.loss_name, "optimizer": "adam", "scheduler": "steplr",
              "selection": "best validation epoch", **self.config.hyperparameters(),
              **self.network_hyperparameters()}
        if self.net is not None:
            hp["n_weights"] = int(sum(p.numel() for p in self.net.parameters()))
            hp["best_epoch"] = self.best_epoch
            hp["in_channels"] = self.in_channels
        return hp

    def _loss(self, pred, target):
        import torch.nn.functional as F

        return F.l1_loss(pred, target) if self.loss_name == "l1" else F.mse_loss(pred, target)

    def setup(self, in_channels: int = 1) -> None:
        """Seed, pick the device and build the network for ``in_channels`` input channels: the start of every fit."""
        import torch

        self.in_channels = int(in_channels)
        seed_everything(self.config.seed)
        self.device = resolve_device(self.config.device)
        self.net = self.build_network().to(self.device)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    def fit(self, train: SplitData, validation: SplitData) -> None:
        import torch

        self.setup(train.x.shape[1])
        x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)

        def step(idx):
            return self._loss(self.net(self._to_device(x[idx])), y[idx].to(self.device, non_blocking=True))

        self.best_epoch = self.run_epochs(self.net, list(self.net.parameters()), len(x), step,
                                          lambda: self._evaluate(validation), self.config.epochs, "train")

    def run_epochs(self, module, params: list, n_rows: int, step: Callable[[Any], Any],
                   evaluate: Callable[[], float], epochs: int, stage: str) -> int | None:
        """The paper's loop (Adam, StepLR, shuffled batches) on ``params``; ``module`` ends at its best
        validation epoch, which is returned. One loop for every stage of every torch baseline."""
        import torch

        cfg = self.config
        opt = torch.optim.Adam(params, lr=cfg.lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
        gen = torch.Generator().manual_seed(cfg.seed)
        best, best_epoch, best_state = float("inf"), None, None
        label = f"{stage} {type(self).__name__}"
        with progress_bar(label, total=epochs, enabled=cfg.progress) as advance:
            for epoch in range(1, epochs + 1):
                t0 = time.perf_counter()
                module.train()
                order = torch.randperm(n_rows, generator=gen)
                total, seen = 0.0, 0
                for start in range(0, n_rows, cfg.batch_size):
                    idx = order[start:start + cfg.batch_size]
                    opt.zero_grad(set_to_none=True)
                    loss = step(idx)
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                    seen += len(idx)
                sched.step()
                val = evaluate()
                self.history.append({"stage": stage, "epoch": epoch, "train_loss": total / seen, "val_loss": val,
                                     "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0})
                if val < best:
                    best, best_epoch = val, epoch
                    best_state = copy.deepcopy(module.state_dict())
                advance(1, info=f"train {total / seen:.4f}  val {val:.4f}  best {best:.4f}@{best_epoch}")
        if best_state is not None:
            module.load_state_dict(best_state)
        return best_epoch

    def _to_device(self, xb):
        import torch

        xb = xb.to(self.device, non_blocking=True)
        return xb.contiguous(memory_format=torch.channels_last) if self.channels_last and xb.ndim == 4 else xb

    def _forward_all(self, data: SplitData):
        import torch

        self.net.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(data), 64):
                xb = self._to_device(torch.from_numpy(data.x[start:start + 64]))
                outs.append(self.net(xb).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0, self.n_outputs)

    def _evaluate(self, data: SplitData) -> float:
        import torch

        pred = self._forward_all(data).clamp(0, 1)
        return float(self._loss(pred, torch.from_numpy(data.y)))

    def predict(self, data: SplitData) -> np.ndarray:
        """Scaled parameters, clamped to [0, 1] (the range every target lives in)."""
        return self._forward_all(data).clamp(0, 1).numpy()
