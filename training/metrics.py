"""Error measures for model evaluation: pure functions of actual and predicted values, nothing else.

They take anything array-like (Series, ndarrays, lists) of equal length and return plain floats, so the
tracking module can log them as they are.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _pair(actual: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float arrays; a length mismatch is a bug upstream, so it is refused, not broadcast."""
    y = np.asarray(actual, dtype=float).ravel()
    y_hat = np.asarray(predicted, dtype=float).ravel()
    if y.shape != y_hat.shape:
        raise ValueError(f"actual has {y.size} values, predicted {y_hat.size}")
    if y.size == 0:
        raise ValueError("no values to compare")
    return y, y_hat


def mae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error: the typical per-customer miss, in the unit of the values."""
    y, y_hat = _pair(actual, predicted)
    return float(np.mean(np.abs(y_hat - y)))


def rmse(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Root mean squared error: like MAE but weighting the big misses (heavy buyers) more."""
    y, y_hat = _pair(actual, predicted)
    return float(np.sqrt(np.mean((y_hat - y) ** 2)))


def relative_aggregate_error(actual: ArrayLike, predicted: ArrayLike) -> float:
    """(predicted total - actual total) / actual total: does the model get the whole base right, which is
    what a CLV model is mostly used for. Positive means over-prediction; NaN when the actual total is 0."""
    y, y_hat = _pair(actual, predicted)
    total = y.sum()
    if total == 0:
        return float("nan")
    return float((y_hat.sum() - total) / total)
