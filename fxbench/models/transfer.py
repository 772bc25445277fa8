"""Reconstruction-then-transfer training: the paper's encoder-decoder and U-Net protocol.

Stage 1 trains the whole network to turn the wet spectrogram into the dry one (L2, as the paper's
"image transfer"); stage 2 freezes it and trains only a linear head on the encoder's features (L1).
``mode="joint"`` instead trains reconstruction and head together (L2 + L1), for backbones whose
auxiliary head is meant to be trained alongside the decoder.

A network for this trainer returns ``(reconstruction, features)`` from ``forward`` — the dry
spectrogram estimate, same shape as the input, and a (B, D) feature vector — and owns ``head``, a
``nn.Linear(D, n_params)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fxbench.dataset.split import SplitData
from fxbench.errors import FxbenchError
from fxbench.models.base import TrainConfig
from fxbench.models.torch_model import TorchRegressor
from fxbench.task import TaskConfig

MODES = ("transfer", "joint")


class DryTargets:
    """Each row's dry spectrogram, stored once per clip (a clip has one dry and many renders)."""

    def __init__(self, data: SplitData) -> None:
        if data.dry_x is None:
            raise FxbenchError(f"split {data.name!r} carries no dry spectrograms; reconstruction models need a "
                               f"dataset built by fxbench (it stores them in the `dry` config)")
        clips = sorted(set(data.clip_ids))
        where = {c: i for i, c in enumerate(clips)}
        self.dry = data.dry_x(clips).astype(np.float32)                       # (n_clips, 1, F, T)
        self.row_clip = np.array([where[c] for c in data.clip_ids], dtype=np.int64)

    def rows(self, idx: Any):
        import torch

        return torch.from_numpy(self.dry[self.row_clip[np.asarray(idx)]])


def pad_time(x, multiple: int):
    """Zero-pad the time axis to a multiple of the network's total stride (cropped off afterwards)."""
    import torch.nn.functional as F

    extra = (-x.shape[-1]) % multiple
    return F.pad(x, (0, extra)) if extra else x


class ReconstructionRegressor(TorchRegressor):
    """Subclasses build the network; this class owns both training stages and ``reconstruct``."""

    loss_name = "l1"
    recon_loss = "l2"

    def __init__(self, task: TaskConfig, config: TrainConfig, mode: str = "transfer") -> None:
        super().__init__(task, config)
        if mode not in MODES:
            raise FxbenchError(f"unknown training mode {mode!r}; use one of {', '.join(MODES)}", exit_code=2)
        self.mode = mode
        self.best_recon_epoch: int | None = None

    def hyperparameters(self) -> dict[str, Any]:
        hp = super().hyperparameters()
        hp.update({"mode": self.mode, "recon_loss": self.recon_loss, "recon_target": "dry mel spectrogram",
                   "stages": (["reconstruct (whole net, L2)", "head (encoder frozen, linear, L1)"]
                              if self.mode == "transfer" else ["joint (L2 reconstruction + L1 parameters)"]),
                   "epochs_per_stage": self.config.epochs})
        if self.mode == "transfer":
            hp["best_recon_epoch"] = self.best_recon_epoch
        return hp

    def _recon_error(self, pred, target):
        import torch.nn.functional as F

        return F.mse_loss(pred, target) if self.recon_loss == "l2" else F.l1_loss(pred, target)

    def fit(self, train: SplitData, validation: SplitData) -> None:
        import torch

        self.setup(train.x.shape[1])
        dry_train, dry_val = DryTargets(train), DryTargets(validation)
        x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
        net, dev = self.net, self.device

        if self.mode == "joint":
            def joint_step(idx):
                recon, feats = net(self._to_device(x[idx]))
                return (self._recon_error(recon, self._to_device(dry_train.rows(idx)))
                        + self._loss(net.head(feats), y[idx].to(dev)))

            self.best_epoch = self.run_epochs(net, list(net.parameters()), len(x), joint_step,
                                              lambda: self._evaluate(validation), self.config.epochs, "joint")
            return

        def recon_step(idx):
            recon, _ = net(self._to_device(x[idx]))
            return self._recon_error(recon, self._to_device(dry_train.rows(idx)))

        head_ids = {id(p) for p in net.head.parameters()}
        body = [p for p in net.parameters() if id(p) not in head_ids]
        self.best_recon_epoch = self.run_epochs(net, body, len(x), recon_step,
                                                lambda: self._recon_val(validation, dry_val),
                                                self.config.epochs, "reconstruct")
        for p in body:
            p.requires_grad_(False)  # the paper's transfer: the encoder is frozen from here on
        feats_train = self._features(train.x)
        feats_val = self._features(validation.x)
        y_val = torch.from_numpy(validation.y)

        def head_step(idx):
            return self._loss(net.head(feats_train[idx]), y[idx].to(dev))

        def head_val() -> float:
            net.head.eval()
            with torch.no_grad():
                return float(self._loss(net.head(feats_val).clamp(0, 1).cpu(), y_val))

        self.best_epoch = self.run_epochs(net.head, list(net.head.parameters()), len(x), head_step, head_val,
                                          self.config.epochs, "head")

    def _batches(self, xs: np.ndarray, size: int = 64):
        import torch

        self.net.eval()
        with torch.no_grad():
            for start in range(0, len(xs), size):
                yield self.net(self._to_device(torch.from_numpy(xs[start:start + size])))

    def _features(self, xs: np.ndarray):
        """Frozen-encoder features of every row, computed once (stage 2 trains on these)."""
        import torch

        return torch.cat([feats for _, feats in self._batches(xs)])

    def _recon_val(self, validation: SplitData, dry: DryTargets) -> float:
        total = 0.0
        for start, (recon, _) in zip(range(0, len(validation), 64), self._batches(validation.x)):
            target = self._to_device(dry.rows(np.arange(start, start + len(recon))))
            total += float(self._recon_error(recon, target)) * len(recon)
        return total / max(1, len(validation))

    def _forward_all(self, data: SplitData):
        import torch

        outs = [self.net.head(feats).float().cpu() for _, feats in self._batches(data.x)]
        return torch.cat(outs) if outs else torch.zeros(0, self.n_outputs)

    def reconstruct(self, data: SplitData) -> np.ndarray:
        """The dry spectrogram the network estimates for each row, (n, 1, n_mels, n_frames) in [0, 1]."""
        import torch

        outs = [recon.float().cpu() for recon, _ in self._batches(data.x)]
        return torch.cat(outs).clamp(0, 1).numpy() if outs else np.zeros((0, *data.x.shape[1:]), np.float32)
