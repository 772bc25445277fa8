"""One benchmark run: dataset -> model.fit -> model.predict(test without labels) -> metrics -> record."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from fxbench.models.base import TrainConfig
from fxbench.task import TaskConfig, load_task


@dataclass
class RunConfig:
    """Everything `fxbench run` takes; the defaults reproduce the paper's protocol on the synth source."""

    task: str
    model: str
    source: str = "synth"
    data_seed: int = 0
    data_dir: Optional[str] = None
    data: Optional[str] = None  # a built dataset folder or Hub repo id, instead of building one
    train: TrainConfig = field(default_factory=TrainConfig)
    epochs_note: Optional[str] = None  # why epochs depart from the paper's; shown on the leaderboard
    eval_source: Optional[str] = None  # score on this source's rows instead of the training data's test split
    eval_split: str = "test"  # with eval_source: its "test" split, or "all" of its rows
    clips_per_recording: Optional[int] = None  # None: the task's default for the source's kind
    also_eval: tuple[str, ...] = ()  # more sources the trained model is scored on ("own": its test split)
    input: str = "wet"  # the input track (fxbench/inputs.py): "wet" alone, or "paired" (wet and dry)


OWN = "own"  # in ``also_eval``: the training dataset's own test split


def run(cfg: RunConfig) -> dict:
    """Run one task x model and return its result record (not yet written)."""
    return execute(cfg)[0]


def execute(cfg: RunConfig) -> tuple[dict, dict]:
    """Like ``run``, also returning the test targets and predictions (for the figures)."""
    return execute_all(cfg)[0]


def execute_all(cfg: RunConfig) -> list[tuple[Optional[dict], dict]]:
    """Train once; score on the main evaluation and then on each of ``cfg.also_eval``: one record each.
    Training once for synth -> synth and synth -> real keeps the two scores of one model together.
    The test split of a blind dataset cannot be scored: its record is None, and its outputs hold the
    test ids and predictions instead, for `fxbench score --answers`."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.evaluation import check_eval_split
    from fxbench.inputs import check_input, check_model_input, with_input, with_input_all
    from fxbench.metrics import compute_metrics
    from fxbench.models.registry import model_label, resolve_model
    from fxbench.rerender import rerender_metrics
    from fxbench.models.torch_model import resolve_device
    from fxbench.progress import progress_bar
    from fxbench.results import check_hyperparameters, check_model_name, json_safe, new_record, stored_predictions

    task: TaskConfig = load_task(cfg.task)
    check_eval_split(cfg.eval_split, cfg.eval_source)
    factory, kind = resolve_model(cfg.model)
    label = model_label(cfg.model)
    check_model_name(label)
    check_input(cfg.input)
    device = str(resolve_device(cfg.train.device))
    started = time.perf_counter()
    model = factory(task, cfg.train)
    check_model_input(model, label, cfg.input)
    try:
        before_fit = model.hyperparameters()
    except Exception:  # noqa: BLE001 - some models know theirs only once fitted; checked again after fit
        before_fit = {}
    check_hyperparameters(before_fit, label)
    path, manifest, build_s = resolve_dataset(task, cfg.source, cfg.data_seed, cfg.data_dir, cfg.data,
                                              progress=cfg.train.progress,
                                              clips_per_recording=cfg.clips_per_recording)
    data_revision = _data_revision(cfg.data)
    t = time.perf_counter()
    splits = load_splits(path, task)
    evaluations = [resolve_evaluation(task, cfg, path, manifest, splits)]
    for spec in cfg.also_eval:
        other = replace(cfg, eval_source=None if spec == OWN else spec, eval_split="test" if spec == OWN else
                        cfg.eval_split)
        evaluations.append(resolve_evaluation(task, other, path, manifest, splits))
    for evaluation in evaluations:
        evaluation.data = with_input(evaluation.data, cfg.input)
    splits = with_input_all(splits, cfg.input)
    load_s = time.perf_counter() - t

    threads = _torch_threads()
    t = time.perf_counter()
    model.fit(splits["train"], splits["validation"])
    train_s = time.perf_counter() - t

    config = {**check_hyperparameters(json_safe(model.hyperparameters()), label), "device_used": device}
    if cfg.epochs_note:
        config["epochs_note"] = cfg.epochs_note
    out = []
    for evaluation in evaluations:
        test = evaluation.data
        t = time.perf_counter()
        with progress_bar("predict", total=1, enabled=cfg.train.progress) as advance:
            pred = model.predict(test.without_labels())
            advance(1)
        predict_s = time.perf_counter() - t
        if evaluation.source is None and manifest.get("blind") is True:  # no targets here: nothing to score
            out.append((None, {"task": task, "ids": list(test.ids), "y_pred": pred, "model": model_label(cfg.model),
                               "seed": cfg.train.seed, "fingerprint": manifest["fingerprint"]}))
            continue
        pred = stored_predictions(pred)  # scored exactly as the record keeps them
        metrics = compute_metrics(task, test.y, pred)
        t = time.perf_counter()
        metrics["rerender"] = rerender_metrics(task, evaluation.path, test.ids, test.clip_ids, pred,
                                               splits["train"].y.mean(axis=0))
        rerender_s = time.perf_counter() - t
        if callable(getattr(model, "reconstruct", None)):
            metrics["reconstruction"] = reconstruction_metrics(model.reconstruct(test.without_labels()), test)
        record = new_record(
            task, model=label, submission={"kind": "model", "source": kind, "spec": cfg.model},
            seed=cfg.train.seed, data_seed=manifest.get("seed", cfg.data_seed),
            source=cfg.source if cfg.data is None else f"data:{cfg.data}", manifest=manifest, splits=splits,
            evaluation=evaluation, pred=pred, metrics=metrics, config=config,
            history=list(getattr(model, "history", []) or []),
            timing={"build_s": build_s, "load_s": load_s, "train_s": train_s, "predict_s": predict_s,
                    "rerender_s": rerender_s, "total_s": time.perf_counter() - started, "dataset_cached": build_s is None},
            environment=_environment(threads), data_revision=data_revision, input=cfg.input)
        out.append((record, {"task": task, "y_true": test.y, "y_pred": pred}))
    return out


def resolve_evaluation(task: TaskConfig, cfg: RunConfig, path, manifest: dict, splits: dict):
    """The rows the model is scored on: its own test split, or ``cfg.eval_source``'s rows after checking
    that none of them was trained on."""
    from fxbench.dataset.cache import resolve_dataset
    from fxbench.dataset.load import load_splits
    from fxbench.errors import FxbenchError
    from fxbench.evaluation import EvalSet, check_unseen, select_rows

    if not cfg.eval_source:
        return EvalSet(splits["test"], None, "test", path, manifest)
    try:
        eval_path, eval_manifest, _ = resolve_dataset(task, cfg.eval_source, cfg.data_seed, cfg.data_dir,
                                                      progress=cfg.train.progress,
                                                      clips_per_recording=cfg.clips_per_recording)
    except FxbenchError as exc:
        raise FxbenchError(f"--eval-source {cfg.eval_source} cannot serve task {task.task}: {exc}",
                           exit_code=exc.exit_code) from None
    if eval_manifest["fingerprint"] == manifest["fingerprint"]:
        raise FxbenchError(f"--eval-source {cfg.eval_source} is the training dataset itself; drop --eval-source "
                           f"to score on its test split, or name another source", exit_code=2)
    evaluation = EvalSet(select_rows(load_splits(eval_path, task), cfg.eval_split), cfg.eval_source,
                         cfg.eval_split, eval_path, eval_manifest)
    check_unseen(path, manifest, evaluation)
    return evaluation


def reconstruction_metrics(recon, test) -> dict[str, Any]:
    """Spectrogram L1/L2 of a model's dry estimate on the test split, beside those of returning the wet
    input unchanged (the floor a reconstruction must beat to have learnt anything)."""
    import numpy as np

    dry = test.dry_x(test.clip_ids)
    recon = np.asarray(recon, dtype=np.float32).reshape(dry.shape)
    return {"l1": float(np.abs(recon - dry).mean()), "l2": float(((recon - dry) ** 2).mean()),
            "identity_l1": float(np.abs(test.x[:, :1] - dry).mean()),  # channel 0 is wet on every input track
            "identity_l2": float(((test.x[:, :1] - dry) ** 2).mean()),
            "n": int(len(dry))}


def _data_revision(data: Optional[str]) -> Optional[str]:
    """The Hub commit ``--data`` was read at (None for a local folder or a cached build), for the record."""
    if data is None:
        return None
    from fxbench.dataset.hub import resolve_data

    return resolve_data(data).revision  # already resolved by resolve_dataset: no second download


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _environment(threads: int) -> dict[str, Any]:
    """What a bit-identical rerun must match besides the code: CPU training is reproducible only on the
    same machine, torch version and thread count."""
    import os

    import torch

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"torch": torch.__version__, "cpu_count": os.cpu_count(), "cuda": cuda, "torch_threads": threads}
