"""The days the data covers, and the one check every `--as-of` goes through against them.

The rule is the same for `features`, `train` and `score`: the cutoff must fall on a day the data covers, from
the day of its first event (a purchase, a contact opened or closed) to the day of its last.

- Before the first event nothing has happened yet: features are empty or undefined, and scoring them fails.
- After the last event the days without data cannot be told from days without activity. Every customer would
  look as if they went quiet when the extract ended (recency, tenure and the window counts all drift towards
  churn), and `train` labels its test cutoff with the purchases up to `--as-of`, so it would call nearly
  everyone a churner. Allowing it for `features` and `score` would make their numbers silently wrong rather
  than visibly refused; a run "as of today" on an extract that ends yesterday should say yesterday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis

from retain.errors import RetainError
from retain.ingest import DataSet


@dataclass(frozen=True)
class DataSpan:
    """The first and the last day with an event in the data."""

    first: dt.date
    last: dt.date

    def __str__(self) -> str:
        return f"the data runs from {self.first} to {self.last}"


def data_span(data: DataSet) -> DataSpan | None:
    """The days of the earliest and the latest purchase, contact opened or case closed (None without any)."""
    stamps = ibis.union(data.transactions.select(stamp=data.transactions.timestamp),
                        data.interactions.select(stamp=data.interactions.opened_at),
                        data.interactions.select(stamp=data.interactions.closed_at))
    found = stamps.aggregate(first=stamps.stamp.min(), last=stamps.stamp.max()).to_pyarrow().to_pylist()[0]
    if found["first"] is None:
        return None
    return DataSpan(found["first"].date(), found["last"].date())


def check_as_of(data: DataSet, as_of: dt.date) -> DataSpan:
    """The data's span if `as_of` falls inside it; else a RetainError naming the first and last event's days."""
    span = data_span(data)
    if span is None:
        raise RetainError("the data has no events (no transactions, no interactions): there is no day to "
                          "compute anything as of")
    if as_of < span.first:
        raise RetainError(f"--as-of {as_of} is before the first event in the data ({span.first}): nothing had "
                          f"happened yet; {span}")
    if as_of > span.last:
        raise RetainError(f"--as-of {as_of} is after the last event in the data ({span.last}): the days after "
                          f"it have no data, which would read as every customer going quiet (and training "
                          f"labels churn up to --as-of); {span}, so --as-of {span.last} uses all of it")
    return span
