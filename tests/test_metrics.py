"""Metrics against values worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from fxbench.errors import FxbenchError
from fxbench.metrics import RANDOM_MAE, chance_mae, compute_metrics, snap_to_grid
from fxbench.task import load_task


def test_metrics_by_hand():
    task = load_task("bitcrush")
    y = np.array([[0.0], [0.5], [1.0], [0.25]])
    p = np.array([[0.0625], [0.5], [0.75], [0.25]])  # off by 1 bit, exact, off by 4 bits, exact
    m = compute_metrics(task, y, p)
    assert m["mae"] == pytest.approx((0.0625 + 0.25) / 4)
    assert m["mse"] == pytest.approx((0.0625 ** 2 + 0.25 ** 2) / 4)
    assert m["per_param_mae_units"]["bit_depth"] == pytest.approx((1 + 4) / 4)
    assert m["grid_accuracy"] == pytest.approx(0.5)
    assert m["random_mae"] == pytest.approx(1 / 3)


def test_chance_levels():
    task = load_task("bitcrush")
    grid = np.array(task.parameters[0].scaled_grid)[:, None]
    # uniform guess over K evenly spaced grid values against uniform truth: (K + 1) / (3K)
    assert chance_mae(task, grid) == pytest.approx(18 / 51)
    # the constant 0.5 against the uniform grid: sum |i - 8| / 16 / 17
    m = compute_metrics(task, grid, np.full_like(grid, 0.5))
    assert m["mae"] == pytest.approx(72 / 272)
    assert RANDOM_MAE == pytest.approx(1 / 3)


def test_snap_to_grid():
    assert snap_to_grid(np.array([0.0, 0.03, 0.04, 0.97, 1.2]), (0.0, 0.0625, 1.0)).tolist() == [0, 0, 1, 2, 2]


@pytest.mark.parametrize("pred, needle", [(np.zeros((4, 2)), "shape"), (np.array([[np.nan]] * 4), "NaN")])
def test_bad_predictions_are_rejected(pred, needle):
    task = load_task("bitcrush")
    with pytest.raises(FxbenchError, match=needle):
        compute_metrics(task, np.zeros((4, 1)), pred)
