"""The retention population and the risk tiers within it.

A retention team works its active customers: whoever has stopped buying long ago is a win-back case, not a
retention one, and on a log of rare buyers they are most of the base (CDNOW-like data labels 95% of customers
"churned" at a cutoff). So tiers are set within the population a team can work: customers who bought in the
last `recent_days` (default: the churn horizon, 90 days), or whose P(alive) is at least `min_p_alive` when set.
Everyone else is tier `lapsed`. Within the population, `high` and `medium` are the top shares of churn
probability measured at training time (default 10% and the next 20%), so `high` is a list of a size a team can
call whatever the base rate, and the thresholds travel with the churn model they were measured on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.rfm import DAYS_PER_UNIT

# In rising order of urgency: codes (for sorting) are positions here.
TIERS = ("lapsed", "low", "medium", "high")
TIER_ARRAY = np.array(TIERS, dtype=object)


@dataclass(frozen=True)
class RetentionPopulation:
    """Who a retention team works: bought in the last `recent_days`, or P(alive) at least `min_p_alive`."""

    recent_days: int = 90
    min_p_alive: float | None = None

    def members(self, rfm: np.ndarray, p_alive: np.ndarray, unit: str) -> np.ndarray:
        """Membership per row of an RFM matrix (frequency, recency, T[, monetary_value]) in `unit`; a
        customer without a purchase (T missing) is not a member."""
        idle_days = (rfm[:, 2] - rfm[:, 1]) * DAYS_PER_UNIT[unit]
        with np.errstate(invalid="ignore"):
            member = idle_days <= self.recent_days
            if self.min_p_alive is not None:
                member |= p_alive >= self.min_p_alive
        return np.asarray(member, dtype=bool)


@dataclass(frozen=True)
class TierThresholds:
    """Churn probabilities at which `medium` and `high` start, within the retention population."""

    medium: float
    high: float

    @classmethod
    def from_shares(cls, probability: np.ndarray, high_share: float, medium_share: float) -> TierThresholds:
        """Thresholds putting the top `high_share` of `probability` (the population's churn probabilities) in
        `high` and the next `medium_share` in `medium` (ties at a threshold all go up, so a share can be a
        little larger with a stepwise calibrated model)."""
        if probability.size == 0:
            raise ValueError("no customers in the retention population to set risk tiers on")
        high = float(np.quantile(probability, 1.0 - high_share, method="higher"))
        medium = float(np.quantile(probability, max(0.0, 1.0 - high_share - medium_share), method="higher"))
        return cls(medium=min(medium, high), high=high)

    def tiers(self, probability: np.ndarray, member: np.ndarray) -> np.ndarray:
        """'high' at or above `high`, 'medium' at or above `medium`, else 'low'; 'lapsed' outside the
        population."""
        code = 1 + (probability >= self.medium).astype(int) + (probability >= self.high).astype(int)
        return TIER_ARRAY[np.where(member, code, 0)]
