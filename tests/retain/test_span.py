"""The days the data covers: the bounds every `--as-of` is checked against (`retain.span`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from retain.errors import RetainError
from retain.ingest import load
from retain.span import DataSpan, check_as_of, data_span
from tests.retain.conftest import WriteTables

# the hand-made tables (tests/retain/helpers.py): purchases 2024-01-01 .. 2024-03-10, contacts in between
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 3, 10)


def test_span_runs_from_the_first_to_the_last_event(good_csv_dir: Path) -> None:
    assert data_span(load(good_csv_dir)) == DataSpan(FIRST, LAST)


def test_a_case_closed_after_the_last_purchase_extends_the_span(write_data: WriteTables,
                                                                frames: dict[str, pd.DataFrame]) -> None:
    frames["interactions"].loc[0, "closed_at"] = "2024-04-02T08:00:00"

    assert data_span(load(write_data(frames))).last == dt.date(2024, 4, 2)


@pytest.mark.parametrize("as_of", [FIRST, LAST, dt.date(2024, 2, 1)])
def test_every_day_of_the_span_is_accepted(good_csv_dir: Path, as_of: dt.date) -> None:
    assert check_as_of(load(good_csv_dir), as_of) == DataSpan(FIRST, LAST)


@pytest.mark.parametrize(("as_of", "where"), [(FIRST - dt.timedelta(days=1), "before the first event"),
                                              (LAST + dt.timedelta(days=1), "after the last event")])
def test_a_day_outside_the_span_is_refused_with_the_dates(good_csv_dir: Path, as_of: dt.date,
                                                          where: str) -> None:
    with pytest.raises(RetainError, match=f"--as-of {as_of} is {where}") as refused:
        check_as_of(load(good_csv_dir), as_of)
    assert f"the data runs from {FIRST} to {LAST}" in str(refused.value)


def test_data_without_events_is_refused(write_data: WriteTables, frames: dict[str, pd.DataFrame]) -> None:
    empty = {**frames, "transactions": frames["transactions"].iloc[:0],
             "interactions": frames["interactions"].iloc[:0]}

    data = load(write_data(empty))

    assert data_span(data) is None
    with pytest.raises(RetainError, match="no events"):
        check_as_of(data, FIRST)
