"""Models through the registry, trained for real on a small bitcrush set."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.errors import FxbenchError
from fxbench.metrics import compute_metrics
from fxbench.models import Model, TrainConfig, available_models, create_model
from fxbench.task import load_task


def test_registry_lists_the_baselines():
    models = available_models()
    assert {"random", "mean", "cnn"} <= set(models)
    assert all(m.description for m in models.values())


def test_unknown_model_suggests_the_closest(small_task):
    with pytest.raises(FxbenchError) as err:
        create_model("cnm", small_task, TrainConfig())
    assert "Did you mean 'cnn'" in str(err.value) and err.value.exit_code == 2


def test_random_is_seeded_uniform_and_at_chance(small_splits):
    task = load_task("bitcrush")
    test = small_splits["test"]
    a = create_model("random", task, TrainConfig(seed=3))
    assert isinstance(a, Model)
    p1, p2 = a.predict(test.without_labels()), create_model("random", task, TrainConfig(seed=3)).predict(test)
    assert np.array_equal(p1, p2) and p1.shape == (len(test), 1) and 0 <= p1.min() and p1.max() <= 1
    assert not np.array_equal(p1, create_model("random", task, TrainConfig(seed=4)).predict(test))
    # over many rows, uniform guesses against the uniform 17-point grid average E[(y^2 + (1-y)^2) / 2]
    y = np.tile(np.array(task.parameters[0].scaled_grid)[:, None], (2000, 1))
    big = test.subset(np.zeros(len(y), dtype=int))
    mae = compute_metrics(task, y, a.predict(big))["mae"]
    expected = float(np.mean((y ** 2 + (1 - y) ** 2) / 2))
    assert abs(mae - expected) < 0.005 and abs(mae - 1 / 3) < 0.03


def test_mean_predicts_the_training_mean(small_splits, small_task):
    m = create_model("mean", small_task, TrainConfig())
    m.fit(small_splits["train"], small_splits["validation"])
    pred = m.predict(small_splits["test"].without_labels())
    assert np.allclose(pred, small_splits["train"].y.mean())
    mae = compute_metrics(small_task, small_splits["test"].y, pred)["mae"]
    assert abs(mae - 72 / 272) < 0.02  # the constant 0.5 against the uniform grid


@pytest.mark.slow
def test_cnn_beats_mean_on_a_small_bitcrush_set(small_splits, small_task):
    cfg = TrainConfig(epochs=8, lr=1e-3, progress=False)
    cnn = create_model("cnn", small_task, cfg)
    cnn.fit(small_splits["train"], small_splits["validation"])
    assert len(cnn.history) == 8 and 1 <= cnn.best_epoch <= 8
    test = small_splits["test"]
    pred = cnn.predict(test.without_labels())
    assert pred.shape == (len(test), 1) and np.isfinite(pred).all()
    mean = create_model("mean", small_task, cfg)
    mean.fit(small_splits["train"], small_splits["validation"])
    cnn_mae = compute_metrics(small_task, test.y, pred)["mae"]
    mean_mae = compute_metrics(small_task, test.y, mean.predict(test))["mae"]
    assert cnn_mae < 0.75 * mean_mae, (cnn_mae, mean_mae)
    hp = cnn.hyperparameters()
    for key in ("epochs", "lr", "batch_size", "step_size", "gamma", "seed", "loss", "n_weights", "best_epoch"):
        assert key in hp


def test_autocorr_pooling_peaks_at_the_repetition_lag():
    """cnn's time pooling must see a delay's repeat: onsets every 9 frames peak at lag 9, and the
    correlation is linear (zero-padded), so the clip's end does not wrap onto its start."""
    import torch

    from fxbench.baselines.cnn import autocorr_pool

    h = torch.zeros(2, 3, 173)
    h[0, :, 5::9] = 1.0
    h[1, :, [2, 170]] = 1.0  # 168 frames apart, but 5 apart if the clip wrapped round
    pooled = autocorr_pool(h, lags=32)
    assert pooled.shape == (2, 3, 34)
    ac = pooled[..., :32]
    assert ac[0].argmax(dim=-1).tolist() == [8, 8, 8]  # index 8 is lag 9
    assert ac[0, 0, 8] > 0.5 and ac[1].max() < 0.05
    assert torch.allclose(pooled[0, :, 32], h[0].mean(dim=-1)) and (pooled[:, :, 33] == 1).all()


def test_cnn_predicts_within_range(small_splits, small_task):
    model = create_model("cnn", small_task, TrainConfig(epochs=1, progress=False))
    model.fit(small_splits["train"], small_splits["validation"])
    pred = model.predict(small_splits["test"].without_labels())
    assert pred.shape == (len(small_splits["test"]), 1) and 0 <= pred.min() and pred.max() <= 1
    hp = model.hyperparameters()
    assert hp["output_bins"] == 64 and hp["lags"] == 32 and hp["n_weights"] > 0


@pytest.mark.parametrize("shape", [(3, 1, 128, 173), (3, 1, 40, 20), (3, 1, 256, 7)])
def test_cnn_takes_any_mel_count_and_clip_length(shape):
    """8 bands and every lag whatever the input: the band pool is only skipped when it would do nothing."""
    import torch

    from fxbench.baselines.cnn import build_cnn

    net = build_cnn(2).eval()
    out = net(torch.rand(shape))
    assert out.shape == (3, 2) and torch.isfinite(out).all()
    assert (out > -0.25).all() and (out < 1.25).all()
