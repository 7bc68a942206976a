"""Training sets: the same point-in-time feature lookup at several past cutoffs, each row with its label.

Only customers who had bought by a cutoff are in its rows (RFM, and so the CLV model, needs a first purchase).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis.expr.types as ir
import pandas as pd

from features.build import FeatureConfig
from features.snapshot import FeatureSources
from training.labels import CutoffPlan, churn_labels

LABEL = "churned"


def labelled_features(sources: FeatureSources, customers: ir.Table, transactions: ir.Table,
                      as_of: dt.date, config: FeatureConfig, horizon_days: int) -> pd.DataFrame:
    """Features at `as_of` for customers with a purchase by then, plus the `churned` label."""
    features = sources.features_at(as_of, config).to_pandas()
    features = features[features["T"].notna()].reset_index(drop=True)
    labels = churn_labels(customers, transactions, as_of, horizon_days)
    features[LABEL] = labels.reindex(features["customer_id"].to_numpy()).to_numpy()
    return features


def training_frames(sources: FeatureSources, customers: ir.Table, transactions: ir.Table,
                    plan: CutoffPlan, config: FeatureConfig, horizon_days: int,
                    progress: Callable[[str], None] | None = None) -> dict[str, pd.DataFrame]:
    """{"train": rows of every training cutoff, "validation": ..., "test": ...}."""
    def at(cutoff: dt.date) -> pd.DataFrame:
        if progress:
            progress(f"features at {cutoff}")
        return labelled_features(sources, customers, transactions, cutoff, config, horizon_days)

    return {
        "train": pd.concat([at(cutoff) for cutoff in plan.train], ignore_index=True),
        "validation": at(plan.validation),
        "test": at(plan.test),
    }
