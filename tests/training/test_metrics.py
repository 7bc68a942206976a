"""Metric functions on cases small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.metrics import mae, relative_aggregate_error, rmse

ACTUAL = [1.0, 2.0, 3.0]
PREDICTED = [2.0, 2.0, 5.0]  # misses 1, 0, 2; totals 6 vs 9


def test_mae_is_mean_absolute_miss() -> None:
    assert mae(ACTUAL, PREDICTED) == pytest.approx(1.0, abs=1e-15)


def test_rmse_is_root_mean_squared_miss() -> None:
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt(5 / 3), abs=1e-15)


def test_relative_aggregate_error_compares_totals() -> None:
    assert relative_aggregate_error(ACTUAL, PREDICTED) == pytest.approx(0.5, abs=1e-15)
    assert relative_aggregate_error(PREDICTED, ACTUAL) == pytest.approx(-1 / 3, abs=1e-15)


def test_aggregate_error_ignores_offsetting_misses_that_mae_sees() -> None:
    actual, predicted = [0.0, 4.0], [4.0, 0.0]
    assert relative_aggregate_error(actual, predicted) == 0.0
    assert mae(actual, predicted) == 4.0


def test_perfect_prediction_scores_zero() -> None:
    y = np.array([0.0, 1.5, 7.0])
    assert (mae(y, y), rmse(y, y), relative_aggregate_error(y, y)) == (0.0, 0.0, 0.0)


def test_accepts_series_and_ignores_their_index() -> None:
    actual = pd.Series(ACTUAL, index=["a", "b", "c"])
    predicted = pd.Series(PREDICTED, index=["x", "y", "z"])
    assert mae(actual, predicted) == pytest.approx(1.0)


def test_zero_actual_total_gives_nan() -> None:
    assert math.isnan(relative_aggregate_error([0.0, 0.0], [1.0, 2.0]))


@pytest.mark.parametrize("metric", [mae, rmse, relative_aggregate_error])
def test_mismatched_or_empty_inputs_are_refused(metric) -> None:
    with pytest.raises(ValueError, match="actual has 2 values, predicted 3"):
        metric([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="no values"):
        metric([], [])
