"""Churn labels and the cutoff plan: what "churned" means, and which cutoffs train, validate and test.

A customer churned at a cutoff if they make no purchase in the `horizon_days` after the cutoff day, or if the
business records their cancellation in that window. Labels look only forward of the cutoff and features only
back, so a cutoff's label window must end before any later evaluation cutoff it would otherwise leak into.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict

from retain.ingest import as_table

DAY = pd.Timedelta(days=1)


def churn_labels(customers: ir.Table | pd.DataFrame, transactions: ir.Table | pd.DataFrame, as_of: dt.date,
                 horizon_days: int) -> pd.Series:
    """1 if a customer makes no purchase in the `horizon_days` after the day `as_of`, or cancels in them;
    computed by the engine, one label a customer comes back (indexed by customer_id)."""
    customers, transactions = as_table(customers), as_table(transactions)
    start = (pd.Timestamp(as_of) + DAY).to_pydatetime()
    end = (pd.Timestamp(start) + pd.Timedelta(days=horizon_days)).to_pydatetime()
    stamp = transactions.timestamp
    window = transactions.filter((stamp >= start) & (stamp < end)).select("customer_id").distinct()
    churned_at = customers.churned_at
    cancelled = churned_at.notnull() & (churned_at >= start) & (churned_at < end)
    bought = customers.customer_id.isin(window.customer_id)
    frame = customers.select("customer_id", churned=(~bought | cancelled).cast("int64")).to_pyarrow().to_pandas()
    return pd.Series(frame["churned"].to_numpy(dtype="int64"), index=frame["customer_id"].to_numpy(),
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
