"""Churn labels and the cutoff plan: what "churned" means, and which cutoffs train, validate and test.

A customer churned at a cutoff if they make no purchase in the `horizon_days` after the cutoff day, or if the
business records their cancellation in that window. Labels look only forward of the cutoff and features only
back, so a cutoff's label window must end before any later evaluation cutoff it would otherwise leak into.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pydantic import BaseModel, ConfigDict

DAY = pd.Timedelta(days=1)


def churn_labels(customers: pd.DataFrame, transactions: pd.DataFrame, as_of: dt.date,
                 horizon_days: int) -> pd.Series:
    """1 if a customer makes no purchase in the `horizon_days` after the day `as_of`, or cancels in them."""
    start = pd.Timestamp(as_of) + DAY
    end = start + pd.Timedelta(days=horizon_days)
    window = transactions[(transactions["timestamp"] >= start) & (transactions["timestamp"] < end)]
    bought = customers["customer_id"].isin(window["customer_id"])
    churned_at = customers["churned_at"]
    cancelled = churned_at.notna() & (churned_at >= start) & (churned_at < end)
    return pd.Series((~bought | cancelled).astype(int).to_numpy(), index=customers["customer_id"].to_numpy(),
                     name="churned")


class CutoffPlan(BaseModel):
    """Out-of-time split: training cutoffs, then validation, then test, each label window closed before the
    next stage's cutoff, and the test label window closed by `as_of` (the last day of data)."""

    model_config = ConfigDict(frozen=True)

    train: tuple[dt.date, ...]
    validation: dt.date
    test: dt.date

    @property
    def all(self) -> tuple[dt.date, ...]:
        return (*self.train, self.validation, self.test)


def plan_cutoffs(as_of: dt.date, horizon_days: int, training_cutoffs: int, step_days: int) -> CutoffPlan:
    """Cutoffs counted back from `as_of`: test = as_of - horizon, validation = test - horizon, and
    `training_cutoffs` more every `step_days` from validation - horizon backwards."""
    horizon = dt.timedelta(days=horizon_days)
    test = as_of - horizon
    validation = test - horizon
    newest_train = validation - horizon
    train = tuple(sorted(newest_train - dt.timedelta(days=step_days * k) for k in range(training_cutoffs)))
    return CutoffPlan(train=train, validation=validation, test=test)
