"""Training sets: the same point-in-time feature lookup at several past cutoffs, each row with its label.

Only customers who had bought by a cutoff are in its rows (RFM, and so the CLV model, needs a first purchase).
The training cutoffs' rows can be sampled down in the engine before they reach the driver (`max_rows`): a row
is kept when a hash of its customer, cutoff and seed falls below the rate, whatever its label, so both label
classes are sampled at the same rate (the churn rate is kept) and a rerun keeps the same rows. Validation and
test rows are never sampled: the metrics and the promotion gate see every customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.build import FeatureConfig
from features.snapshot import FeatureSources
from training.labels import CutoffPlan, churn_labels

LABEL = "churned"
BUCKETS = 1_000_000


def sampling_rate(max_rows: int | None, cutoffs: int, customers: int) -> float:
    """The rate that keeps at most about `max_rows` training rows: each cutoff has at most one row per
    customer."""
    if max_rows is None or cutoffs * customers <= max_rows:
        return 1.0
    return max_rows / (cutoffs * customers)


def _kept(table: ir.Table, as_of: dt.date, rate: float, seed: int) -> ir.BooleanValue:
    key = ibis.literal(f"{seed}/{as_of.isoformat()}/") + table.customer_id
    bucket = (key.hash() % BUCKETS + BUCKETS) % BUCKETS  # not abs(): Spark's abs overflows on the smallest int
    return bucket < int(rate * BUCKETS)


def labelled_features(sources: FeatureSources, customers: ir.Table, transactions: ir.Table,
                      as_of: dt.date, config: FeatureConfig, horizon_days: int, rate: float = 1.0,
                      seed: int = 0) -> pd.DataFrame:
    """Features at `as_of` for customers with a purchase by then (a `rate` sample of them, drawn in the
    engine), plus the `churned` label."""
    table = sources.features_at(as_of, config)
    table = table.filter(table["T"].notnull())
    if rate < 1.0:
        table = table.filter(_kept(table, as_of, rate, seed))
    # in customer order: an engine returns rows in any order, and XGBoost's float sums follow row order
    features = table.to_pandas().sort_values("customer_id", kind="stable").reset_index(drop=True)
    labels = churn_labels(customers, transactions, as_of, horizon_days)
    features[LABEL] = labels.reindex(features["customer_id"].to_numpy()).to_numpy()
    return features


def training_frames(sources: FeatureSources, customers: ir.Table, transactions: ir.Table,
                    plan: CutoffPlan, config: FeatureConfig, horizon_days: int,
                    progress: Callable[[str], None] | None = None, rate: float = 1.0,
                    seed: int = 0) -> dict[str, pd.DataFrame]:
    """{"train": rows of every training cutoff (a `rate` sample), "validation": ..., "test": ...}."""
    def at(cutoff: dt.date, sampled: float = 1.0) -> pd.DataFrame:
        if progress:
            progress(f"features at {cutoff}")
        return labelled_features(sources, customers, transactions, cutoff, config, horizon_days, sampled, seed)

    return {
        "train": pd.concat([at(cutoff, rate) for cutoff in plan.train], ignore_index=True),
        "validation": at(plan.validation),
        "test": at(plan.test),
    }
