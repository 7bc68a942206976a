"""Small seeded BG/NBD + Gamma-Gamma transaction logs with known parameters, built once per session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

WEEKLY_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}
START = pd.Timestamp("2024-01-01")


def simulate_transactions(n: int, days: int, birth_days: int, rng: np.random.Generator,
                          max_purchases: int = 80, midnight: bool = False) -> pd.DataFrame:
    """BG/NBD purchases (first purchase at birth, rates per day from the weekly truth), Gamma-Gamma spend.

    Dropout happens after each repeat purchase with probability p, as in lifetimes' generator.
    """
    t = WEEKLY_TRUTH
    lam = rng.gamma(t["r"], 1.0 / (7.0 * t["alpha"]), n)  # per day: weekly rate / 7
    drop = rng.beta(t["a"], t["b"], n)
    lives = rng.geometric(drop)  # repeat purchases made before dropping out
    birth = rng.uniform(0, birth_days, n)
    gaps = rng.exponential(1.0, (n, max_purchases)) / lam[:, None]
    times = birth[:, None] + np.cumsum(gaps, axis=1)
    keep = (np.arange(1, max_purchases + 1)[None, :] <= lives[:, None]) & (times < days)
    cust = np.concatenate([np.arange(n), np.nonzero(keep)[0]])
    when = np.concatenate([birth, times[keep]])
    nu = rng.gamma(t["q"], 1.0 / t["v"], n)
    amount = rng.gamma(t["p"], 1.0 / nu[cust])
    offset = np.floor(when) if midnight else when
    stamps = START + pd.to_timedelta(offset, unit="D")
    frame = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in cust], "timestamp": stamps,
                          "amount": amount.round(2)})
    return frame.sort_values(["customer_id", "timestamp"], ignore_index=True)


@pytest.fixture(scope="session")
def transactions() -> pd.DataFrame:
    """3,000 customers born over 26 weeks, observed 78 weeks; timestamps with times of day."""
    return simulate_transactions(3000, 546, 182, np.random.default_rng(7))


@pytest.fixture(scope="session")
def midnight_transactions() -> pd.DataFrame:
    """800 customers with day-stamped purchases, where lifetimes' and our cutoff conventions coincide."""
    return simulate_transactions(800, 364, 120, np.random.default_rng(11), midnight=True)
