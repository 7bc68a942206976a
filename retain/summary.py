"""A short, human summary of a loaded data set (what `retain validate` and the demo print)."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel

from retain.ingest import DataSet
from retain.span import data_span


class DataSummary(BaseModel):
    customers: int
    transactions: int
    interactions: int
    first_event: str | None
    last_event: str | None
    known_cancellations: int
    churned_share_truth: float | None


def summarize(data: DataSet, truth: pd.DataFrame | None) -> DataSummary:
    """Counts, the span of events (the days `--as-of` must fall in) and, where a truth file exists, the share
    of customers that dropped out."""
    span = data_span(data)
    customers = data.customers.aggregate(rows=data.customers.count(),
                                         cancelled=data.customers.churned_at.notnull().sum())
    counted = customers.to_pyarrow().to_pylist()[0]
    return DataSummary(
        customers=int(counted["rows"]),
        transactions=int(data.transactions.count().to_pyarrow().as_py()),
        interactions=int(data.interactions.count().to_pyarrow().as_py()),
        first_event=str(span.first) if span else None,
        last_event=str(span.last) if span else None,
        known_cancellations=int(counted["cancelled"] or 0),
        churned_share_truth=float(truth["dropout_at"].notna().mean()) if truth is not None else None,
    )
