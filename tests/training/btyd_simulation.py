"""Customers drawn from each buy-till-you-die story with known parameters, as calibration/holdout frames
(`training.clv_evaluation.calibration_holdout`'s columns), in continuous weeks. Seeded, vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_EVENTS = 120


def simulate_frame(story: str, params: dict[str, float], n: int, horizon: float, rng: np.random.Generator,
                   spend: tuple[float, float, float] = (6.0, 4.0, 15.0)) -> pd.DataFrame:
    """`n` customers of whole-week ages T ~ U{20..60} at the cutoff (recency rounded up to its week), their
    purchases in the next `horizon` weeks.

    story "bgnbd": after each repeat purchase the customer drops out with probability p ~ Beta(a, b);
    "mbgnbd": also at the first purchase (time 0); "pareto_nbd": a lifetime ~ Exp(mu), mu ~ Gamma(s, beta).
    Spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, gamma) (Gamma-Gamma)."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    age = rng.integers(20, 61, n).astype(float)
    gaps = rng.exponential(1.0, (n, MAX_EVENTS)) / np.maximum(lam, 1e-6)[:, None]
    times = np.cumsum(gaps, axis=1)
    if story == "pareto_nbd":
        death = rng.exponential(1.0, n) / rng.gamma(params["s"], 1.0 / params["beta"], n)
    else:
        drop = rng.beta(params["a"], params["b"], n)
        survived = rng.geometric(drop)  # repeat purchases made before dropping out (the last one included)
        if story == "mbgnbd":
            survived = survived - 1  # MBG/NBD: the first draw is the chance to drop out at time 0
        index = np.minimum(np.maximum(survived, 0), MAX_EVENTS) - 1
        death = np.where(index >= 0, times[np.arange(n), np.maximum(index, 0)], 0.0)
        death = np.where(survived >= MAX_EVENTS, np.inf, death)
    alive_events = times <= death[:, None] if story != "pareto_nbd" else times < death[:, None]
    calibration = alive_events & (times <= age[:, None])
    holdout = alive_events & (times > age[:, None]) & (times <= (age + horizon)[:, None])
    frequency = calibration.sum(axis=1).astype(float)
    last = np.where(calibration, times, 0.0).max(axis=1)
    recency = np.where(frequency > 0, np.minimum(np.ceil(last), age), 0.0)  # whole weeks, as periods record it
    p, q, gamma = spend
    nu = rng.gamma(q, 1.0 / gamma, n)
    amounts = rng.gamma(p, 1.0, (n, MAX_EVENTS)) / nu[:, None]
    monetary = np.where(frequency > 0, (amounts * calibration).sum(axis=1) / np.maximum(frequency, 1), 0.0)
    return pd.DataFrame({
        "frequency": frequency, "recency": recency, "T": age, "monetary_value": monetary,
        "frequency_holdout": holdout.sum(axis=1).astype(float), "spend_holdout": (amounts * holdout).sum(axis=1),
        "monetary_value_holdout": (amounts * holdout).sum(axis=1) / np.maximum(holdout.sum(axis=1), 1),
        "duration_holdout": float(horizon),
    }, index=pd.Index([f"C{i}" for i in range(n)], name="customer_id"))
