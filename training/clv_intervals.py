"""The 80% interval of a customer's CLV: ratio quantiles of realised to predicted value on the validation
window, by group (`models.clv_hybrid.IntervalTable`), and its coverage on any later window.

Most customers buy nothing in a window, so realised value has a point mass at 0: an equal-tailed interval
would have its lower end at 0 and cover far more than 80%. Where a group's zeros fill the lower tail, the
interval is [0, the level's quantile] instead; the level is set by bisection so that `COVERAGE` of all
validation customers' realised values fall inside (groups where nearly everyone buys nothing cover more, the
others a little less). Pure numpy and pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.rfm import RFM_COLUMNS
from models.clv import ClvModel
from models.clv_hybrid import GROUPS, IntervalTable, group_of

COVERAGE = 0.8
MIN_GROUP = 50  # customers; a smaller group takes the pooled ratios


def predicted(model: ClvModel, frame: pd.DataFrame, service: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases and spend in each row's window (`duration_holdout` units)."""
    rfm = frame[list(RFM_COLUMNS)].to_numpy(dtype=float)
    purchases = model.window_purchases(rfm, frame["duration_holdout"].to_numpy(dtype=float), service)
    return purchases, purchases * model.expected_spend(frame).to_numpy()


def _bounds(ratios: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper ratio covering `level` of `ratios`: equal tails, or [0, quantile] when zeros fill the
    lower tail."""
    tail = (1 - level) / 2
    if (ratios <= 0).mean() <= tail:
        return (float(np.quantile(ratios, tail, method="inverted_cdf")),
                float(np.quantile(ratios, 1 - tail, method="inverted_cdf")))
    return 0.0, float(np.quantile(ratios, level, method="inverted_cdf"))


def _table(ratios: np.ndarray, groups: np.ndarray, level: float) -> IntervalTable:
    """Bounds per group; a group with fewer than `MIN_GROUP` customers takes its nearest populated neighbour's
    (below first: a longer horizon than the window's moves customers into groups the window barely filled)."""
    found = {group: _bounds(ratios[groups == group], level) for group in range(GROUPS)
             if (groups == group).sum() >= MIN_GROUP}
    if not found:
        found = {0: _bounds(ratios, level)}
    bounds = [found[_nearest(found, group)] for group in range(GROUPS)]
    return IntervalTable(tuple(b[0] for b in bounds), tuple(b[1] for b in bounds), COVERAGE)


def _nearest(found: dict[int, tuple[float, float]], group: int) -> int:
    return min(found, key=lambda g: (abs(g - group), g > group))


def covered(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether each realised value lies in its interval (a little slack for float rounding)."""
    slack = 1e-9 * np.maximum(1.0, np.abs(actual))
    return (actual >= low - slack) & (actual <= high + slack)


def interval_table(model: ClvModel, frame: pd.DataFrame, service: np.ndarray | None,
                   coverage: float = COVERAGE) -> IntervalTable:
    """The table whose intervals hold `coverage` of the window's realised spend (`spend_holdout`)."""
    purchases, spend = predicted(model, frame, service)
    actual = frame["spend_holdout"].to_numpy(dtype=float)
    ratios = np.where(spend > 0, actual / np.maximum(spend, 1e-12), np.where(actual > 0, np.inf, 0.0))
    groups = group_of(purchases)
    lo, hi = 0.5, min(0.999, coverage + 0.15)
    for _ in range(25):
        level = (lo + hi) / 2
        share = covered(actual, *_table(ratios, groups, level).bounds(purchases, spend)).mean()
        lo, hi = (level, hi) if share < coverage else (lo, level)
    return _table(ratios, groups, hi)
