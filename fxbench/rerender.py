"""The re-render metric: what a prediction sounds like, not how far its numbers are.

Every scored row's dry clip is rendered again with the predicted settings, through the task's own effect,
and compared with the row's true wet clip in the audio domain: auraloss's multi-resolution STFT distance
(spectral convergence + log magnitude) and an L1 between the task's min-max scaled log-Mel spectrograms,
which ignores loudness. The same is done for the training-mean setting and for uniformly random settings,
so a model's distance reads against "one setting for everything" (skill 0) and "sounds identical" (skill 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from fxbench.task import TaskConfig

#: What a record's numbers were measured with; records with other settings are not comparable.
SETTINGS = {"distance": "auraloss.freq.MultiResolutionSTFTLoss (spectral convergence + log magnitude, mean "
                        "over resolutions) per row", "fft_sizes": [512, 1024, 2048], "hop_sizes": [128, 256, 512],
            "win_lengths": [512, 1024, 2048], "logmel": "L1 of the task's min-max scaled dB Mel spectrograms",
            "random_seed": 0, "version": 1}


def skipped_because(task: TaskConfig) -> Optional[str]:
    """Why a task's rows cannot be rendered again from predictions, or None."""
    if all(p.is_presence for p in task.parameters):
        return "a pure detection task has no knobs to render again"
    if any(s.vary for s in task.effect.chain):
        return "its stages' varied settings are not targets, so the dataset cannot render a row again"
    return None


class _Audio:
    """A dataset folder's wet clips by row id and dry clips by clip id, read on first use."""

    def __init__(self, path: Path, task: TaskConfig) -> None:
        self.path, self.task = Path(path), task

    def _column(self, config: str, key: str, keys: set[str]) -> dict[str, Any]:
        from fxbench.dataset.load import load_hf

        out = {}
        for split in load_hf(self.path, config).values():  # only the wanted rows' audio is read
            names = split.select_columns([key]).with_format("arrow")[:][key].to_pylist()
            rows = [i for i, k in enumerate(names) if k in keys]
            if rows:
                cells = split.select(rows).select_columns(["audio"]).with_format("arrow")[:]["audio"].to_pylist()
                out.update(zip((names[i] for i in rows), cells))
        return out

    def clips(self, ids: list[str], clip_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(wet int16 per row, dry int16 per row); KeyError when the folder lacks a row's clips."""
        from fxbench.dataset.audio import decode_audio
        from fxbench.dataset.build import DRY_CONFIG

        wet = self._column(self.task.task, "id", set(ids))
        dry = self._column(DRY_CONFIG, "clip_id", set(clip_ids))
        return (np.stack([decode_audio(wet[i]) for i in ids]),
                np.stack([decode_audio(dry[c]) for c in clip_ids]))


def _units(task: TaskConfig, scaled: np.ndarray) -> dict[str, np.ndarray]:
    """Scaled predictions -> settings in units, inside each parameter's range (float32, as rendered); a grid
    parameter's prediction snapped to its nearest grid value (exactly, as the grid renders it)."""
    from fxbench.metrics import snap_to_grid

    out = {}
    for j, p in enumerate(task.parameters):
        lo, hi = p.range
        if p.grid is not None:  # a grid task's effect renders its grid values (some accept no others)
            out[p.name] = np.asarray(p.grid, dtype=np.float64)[snap_to_grid(scaled[:, j], p.scaled_grid)]
            continue
        out[p.name] = np.clip(np.asarray(p.unscale(np.clip(scaled[:, j], 0, 1)), dtype=np.float64), lo, hi
                              ).astype(np.float32)
    return out


def render_rows(task: TaskConfig, dry: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """Each row's dry clip rendered at its row of scaled settings -> (rows, samples) float32."""
    from fxbench.render import GridRenderer, from_int16

    renderer, values = GridRenderer(task), _units(task, scaled)
    return np.stack([from_int16(renderer.render_at(dry[i], {k: v[i:i + 1] for k, v in values.items()})[0])
                     for i in range(len(dry))])


class Distances:
    """Per-row audio distances between renders and the true wet clips."""

    def __init__(self, task: TaskConfig) -> None:
        import auraloss
        import torch

        from fxbench.features import MelFeatures

        self.torch = torch
        self.mrstft = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=SETTINGS["fft_sizes"], hop_sizes=SETTINGS["hop_sizes"], win_lengths=SETTINGS["win_lengths"])
        self.mel = MelFeatures(task.features, task.sample_rate)

    def __call__(self, rendered: np.ndarray, wet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(multi-resolution STFT distance per row, log-Mel L1 per row)."""
        torch = self.torch
        with torch.no_grad():
            stft = np.array([float(self.mrstft(torch.from_numpy(r)[None, None], torch.from_numpy(w)[None, None]))
                             for r, w in zip(rendered, wet)])
        logmel = np.abs(self.mel(rendered) - self.mel(wet)).mean(axis=(1, 2))
        return stft, logmel


def rerender_metrics(task: TaskConfig, path: Path, ids: list[str], clip_ids: list[str], y_pred: np.ndarray,
                     train_mean: np.ndarray) -> dict:
    """``metrics.rerender`` for the scored rows: the model's, the training mean's and random settings'
    distances, and the skill 1 - distance(model) / distance(training mean); ``skipped`` says why not."""
    why = skipped_because(task)
    if why is not None:
        return {"skipped": why, "settings": SETTINGS}
    from fxbench.render import from_int16

    try:
        wet_pcm, dry = _Audio(path, task).clips(ids, clip_ids)
    except KeyError:
        return {"skipped": "the dataset lacks these rows' dry clips (a blind test split withholds them)",
                "settings": SETTINGS}
    wet = from_int16(wet_pcm)
    n = len(ids)
    rng = np.random.default_rng(SETTINGS["random_seed"])
    guesses = {"model": np.asarray(y_pred, dtype=np.float64),
               "mean": np.repeat(np.asarray(train_mean, dtype=np.float64)[None], n, axis=0),
               "random": rng.random((n, len(task.parameters)))}
    measure = Distances(task)
    got = {k: measure(render_rows(task, dry, g), wet) for k, g in guesses.items()}
    stft = {k: float(v[0].mean()) for k, v in got.items()}
    logmel = {k: float(v[1].mean()) for k, v in got.items()}
    return {
        "distance": stft["model"], "mean_distance": stft["mean"], "random_distance": stft["random"],
        "skill": 1 - stft["model"] / stft["mean"] if stft["mean"] > 0 else None,
        "logmel_l1": logmel["model"], "mean_logmel_l1": logmel["mean"], "random_logmel_l1": logmel["random"],
        "n": n, "settings": SETTINGS,
    }
