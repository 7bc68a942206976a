"""Benchmark: BG/NBD fit on 1,000,000 customers, grouped (our fit_clv path) vs plain lifetimes, same process.

The RFM is drawn from BG/NBD with the CDNOW parameters in weeks (seeded, vectorised): first purchases spread
over the first year of a two-year window, so T is a whole number of weeks (53..104); repeat purchases are a
Poisson process cut short by dropout after each purchase (probability p); the last purchase time is the
x-th of the Poisson arrivals in (0, T], rounded up to its week, as weekly purchase periods would record it.
Both fits must agree to ~1e-3 relative; the target is the grouped fit under 5 s.

    .venv/bin/python benchmarks/clv_fit.py [--customers 1000000] [--seed 42]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from lifetimes import BetaGeoFitter

from training.clv import fit_bgnbd

CDNOW_WEEKS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def simulate_rfm(n: int, rng: np.random.Generator, weeks: int = 104, birth_weeks: int = 52) -> pd.DataFrame:
    """frequency, recency, T in whole weeks for n customers drawn from BG/NBD with the CDNOW parameters."""
    p = CDNOW_WEEKS
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
    drop = rng.beta(p["a"], p["b"], n)
    big_t = (weeks - rng.integers(0, birth_weeks, n)).astype(float)
    arrivals = rng.poisson(lam * big_t)
    frequency = np.minimum(arrivals, rng.geometric(drop))  # dropout comes after the geometric-th purchase
    # The x-th of N uniform arrivals on (0, T] is T * Beta(x, N - x + 1).
    last = big_t * rng.beta(np.maximum(frequency, 1), arrivals - frequency + 1)
    recency = np.where(frequency > 0, np.minimum(np.ceil(last), big_t), 0.0)
    return pd.DataFrame({"frequency": frequency.astype(float), "recency": recency, "T": big_t})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rfm = simulate_rfm(args.customers, np.random.default_rng(args.seed))
    distinct = len(rfm.drop_duplicates())
    print(f"customers {len(rfm):,}; distinct (frequency, recency, T) rows {distinct:,}; "
          f"repeat buyers {(rfm['frequency'] > 0).mean():.1%}")

    start = time.perf_counter()
    grouped, penalizer, attempts = fit_bgnbd(rfm, penalizers=(0.0,))
    grouped_s = time.perf_counter() - start

    start = time.perf_counter()
    plain = BetaGeoFitter(0.0).fit(rfm["frequency"], rfm["recency"], rfm["T"]).params_.to_dict()
    plain_s = time.perf_counter() - start

    worst = max(abs(grouped[k] / plain[k] - 1) for k in plain)
    print(f"grouped fit (fit_bgnbd: group + fit): {grouped_s:.3f} s   penalizer {penalizer}, "
          f"{[a.outcome for a in attempts]}")
    print(f"plain lifetimes BetaGeoFitter.fit:    {plain_s:.3f} s")
    print(f"speed-up: {plain_s / grouped_s:.1f}x")
    print("truth   " + "  ".join(f"{k}={v:.6f}" for k, v in CDNOW_WEEKS.items()))
    print("grouped " + "  ".join(f"{k}={v:.6f}" for k, v in grouped.items()))
    print("plain   " + "  ".join(f"{k}={v:.6f}" for k, v in plain.items()))
    print(f"largest relative parameter difference: {worst:.2e}")
    print(f"grouped under 5 s: {'yes' if grouped_s < 5 else 'NO'}; "
          f"agree to 1e-3: {'yes' if worst < 1e-3 else 'NO'}")


if __name__ == "__main__":
    main()
