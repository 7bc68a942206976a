"""What the CLV model may carry on top of its buy-till-you-die curve: a learned correction (the hybrid) and an
interval table. Both are plain arrays and a booster, applied in a few vectorised numpy steps at scoring time.

The correction is a gradient-boosted Poisson model of purchases in a window of `horizon` units, trained with
the BTYD prediction for the window as its offset (base margin), so it learns a per-customer ratio to BTYD.
Scoring applies that ratio to the whole 12-month curve (purchases and discounted CLV alike).

The interval is a table of ratio quantiles: realised / predicted value on the validation window, per group of
customers (by expected purchases over the window), chosen so that 80% of the group's realised values fell
inside. A customer's interval is its CLV times its group's two ratios: no bootstrap at scoring time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xgboost as xgb

CORRECTION_INPUTS = ("frequency", "recency", "T", "monetary_value", "p_alive", "btyd_purchases")
"""The inputs every correction reads first, in this order; the service features follow (`Correction.service`)."""
PURCHASE_EDGES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
GROUPS = len(PURCHASE_EDGES) + 1


@dataclass(frozen=True)
class Correction:
    """Booster of purchases in `horizon` units, offset by log(BTYD purchases); inputs `CORRECTION_INPUTS` then
    `service` (feature names, NaN where a scorer lacks one)."""

    booster: xgb.Booster
    horizon: float
    service: tuple[str, ...]

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """Expected purchases in `horizon` units for rows of (`CORRECTION_INPUTS`, `service`) values."""
        btyd = inputs[:, CORRECTION_INPUTS.index("btyd_purchases")]
        margin = np.log(np.maximum(btyd, 1e-9))
        return np.asarray(self.booster.inplace_predict(inputs.astype(np.float32), base_margin=margin), dtype=float)

    def ratio(self, inputs: np.ndarray) -> np.ndarray:
        """Corrected / BTYD purchases per row (1 where BTYD predicts none)."""
        btyd = inputs[:, CORRECTION_INPUTS.index("btyd_purchases")]
        return np.where(btyd > 1e-9, self.expected(inputs) / np.maximum(btyd, 1e-9), 1.0)


@dataclass(frozen=True)
class IntervalTable:
    """Lower and upper ratio per group of expected purchases over the interval's horizon (bounded by
    `PURCHASE_EDGES`), `coverage` the level aimed at. Grouping by the expected count, not by history, keeps a
    table learned on a short window usable over a longer one: how often a customer expected to buy 0.3 times
    buys nothing hardly depends on the window's length."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    coverage: float = 0.8

    def bounds(self, purchases: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval of each row's `value` given its expected purchases (NaN stays NaN)."""
        group = group_of(purchases)
        return value * np.asarray(self.low)[group], value * np.asarray(self.high)[group]


def group_of(purchases: np.ndarray) -> np.ndarray:
    """Each customer's group in an `IntervalTable` by expected purchases."""
    return np.searchsorted(PURCHASE_EDGES, np.nan_to_num(np.asarray(purchases, dtype=float)), side="right")

