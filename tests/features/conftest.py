"""Shared helpers for the feature tests: contract-typed frames built from a few hand-written rows, and
running an ibis expression into a pandas frame indexed by customer."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest

from retain.contract import CUSTOMERS, INTERACTIONS, PANDAS_DTYPES, TRANSACTIONS, TableSpec

Rows = Iterable[Mapping[str, Any]]


def contract_frame(spec: TableSpec, rows: Rows = ()) -> pd.DataFrame:
    """A frame with every contract column of `spec`, in contract order and dtypes; missing cells are null."""
    rows = list(rows)
    unknown = {key for row in rows for key in row} - set(spec.column_names)
    assert not unknown, f"not {spec.name} columns: {unknown}"
    return pd.DataFrame({
        column.name: pd.Series([row.get(column.name) for row in rows], dtype=object).astype(
            PANDAS_DTYPES[column.kind]) if rows else pd.Series(dtype=PANDAS_DTYPES[column.kind])
        for column in spec.columns
    })


def as_contract(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """An existing frame (e.g. simulated) cast to the contract dtypes, absent optional columns added empty."""
    out = pd.DataFrame(index=frame.index)
    for column in spec.columns:
        values = frame[column.name] if column.name in frame else pd.Series(pd.NA, index=frame.index)
        out[column.name] = values.astype(PANDAS_DTYPES[column.kind])
    return out


def customers(*rows: Mapping[str, Any]) -> pd.DataFrame:
    return contract_frame(CUSTOMERS, rows)


def transactions(*rows: Mapping[str, Any]) -> pd.DataFrame:
    return contract_frame(TRANSACTIONS, rows)


def interactions(*rows: Mapping[str, Any]) -> pd.DataFrame:
    """Interaction rows; the required columns a test does not care about get harmless defaults."""
    defaults = {"channel": "email", "resolved": False, "transfers": 0, "handle_seconds": 0.0}
    return contract_frame(INTERACTIONS, [{**defaults, **row} for row in rows])


def run(table: ir.Table) -> pd.DataFrame:
    """Execute an ibis table; one row per customer, indexed and sorted by customer_id."""
    frame = table.to_pandas()
    assert frame["customer_id"].is_unique, "more than one row for a customer"
    return frame.set_index("customer_id").sort_index()


def run_sorted(table: ir.Table) -> pd.DataFrame:
    """Execute an ibis table into a frame sorted by customer_id with a fresh index (for frame equality)."""
    return table.to_pandas().sort_values("customer_id", ignore_index=True)


def memtables(*frames: pd.DataFrame) -> tuple[ir.Table, ...]:
    return tuple(ibis.memtable(frame) for frame in frames)


def import_lifetimes_utils() -> Any:
    """lifetimes.utils, without the Pandas4Warning its import emits on pandas 3."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import utils
    return utils


@pytest.fixture(scope="session")
def lifetimes_summary() -> Callable[..., pd.DataFrame]:
    """lifetimes' summary_data_from_transaction_data, its import warnings silenced."""
    utils = import_lifetimes_utils()

    def summary(*args: Any, **kwargs: Any) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return utils.summary_data_from_transaction_data(*args, **kwargs)

    return summary


# --- a small service log shared by the effort, resolution and survey tests ------------------------
#
# as_of = Sunday 2024-03-31, so the known past ends at 2024-04-01 00:00; the 30-day window starts 2024-03-02
# 00:00 and the 90-day window 2024-01-02 00:00.
#
# A, case K1 (February, three contacts):
#   i1 02-01 09:00-09:30 phone, not resolved, 1 transfer, 600 s, CES 2, CSAT 2, NPS 3
#   i2 02-05 10:00-10:20 email (a switch; 4 days after i1: a repeat), resolved, 0 transfers, 300 s, CES 6
#   i3 02-20 10:00-11:00 email (15 days after i2: no repeat), resolved again (a reopen), 2 transfers, 900 s,
#      CSAT 5, NPS 10
# A, case K2: i4 03-10 08:00-08:30 chat, resolved first time, 200 s, CES 7, CSAT 4, NPS 8;
#   i6 opened 04-01 00:00:00, after the cutoff (must not count nor make K2 "reopened")
# A, case K3: i5 03-30 12:00, closed only on 04-02 (after the cutoff), resolved then, 3 transfers, 100 s,
#   CES 1, CSAT 1, NPS 0: at the cutoff it is open, unresolved and its answers are unknown
# B, case K4: j1 03-01 09:00-09:10 self_service (before the 30-day window), not resolved, 60 s;
#   j2 03-08 09:00-12:00 phone (exactly 7 days later: a repeat; a switch), not resolved, 1 transfer, 400 s;
#   j3 03-20 09:00-09:30 chat (a switch), resolved, 500 s, CES 4
# B, case K5: k5 03-25 15:00, still open (no closed_at), not resolved, 30 s
# C, case K6: c1 2023-06-01 10:00-10:05 email, resolved, 2 transfers, 50 s, CES 3, CSAT 5, NPS 6
# C, case K7: c2 2023-12-01 10:00, still open, opened before the 90-day window
SERVICE_AS_OF = dt.date(2024, 3, 31)
SERVICE_WINDOWS = (30, 90)


@pytest.fixture(scope="session")
def service_log() -> pd.DataFrame:
    def contact(interaction_id: str, customer_id: str, case_id: str, opened_at: str, closed_at: str | None,
                channel: str, resolved: bool, transfers: int = 0, handle_seconds: float = 0.0,
                ces: int | None = None, csat: int | None = None, nps: int | None = None) -> dict[str, Any]:
        return locals()

    return interactions(
        contact("i1", "A", "K1", "2024-02-01 09:00", "2024-02-01 09:30", "phone", False, 1, 600, 2, 2, 3),
        contact("i2", "A", "K1", "2024-02-05 10:00", "2024-02-05 10:20", "email", True, 0, 300, ces=6),
        contact("i3", "A", "K1", "2024-02-20 10:00", "2024-02-20 11:00", "email", True, 2, 900, None, 5, 10),
        contact("i4", "A", "K2", "2024-03-10 08:00", "2024-03-10 08:30", "chat", True, 0, 200, 7, 4, 8),
        contact("i5", "A", "K3", "2024-03-30 12:00", "2024-04-02 09:00", "phone", True, 3, 100, 1, 1, 0),
        contact("i6", "A", "K2", "2024-04-01 00:00", "2024-04-01 00:10", "phone", False, 5, 999, 1, 1, 0),
        contact("j1", "B", "K4", "2024-03-01 09:00", "2024-03-01 09:10", "self_service", False, 0, 60),
        contact("j2", "B", "K4", "2024-03-08 09:00", "2024-03-08 12:00", "phone", False, 1, 400),
        contact("j3", "B", "K4", "2024-03-20 09:00", "2024-03-20 09:30", "chat", True, 0, 500, ces=4),
        contact("k5", "B", "K5", "2024-03-25 15:00", None, "email", False, 0, 30),
        contact("c1", "C", "K6", "2023-06-01 10:00", "2023-06-01 10:05", "email", True, 2, 50, 3, 5, 6),
        contact("c2", "C", "K7", "2023-12-01 10:00", None, "phone", False, 0, 20),
    )


def assert_hand_computed(out: pd.DataFrame, expected: Mapping[str, Mapping[str, float]], customer: str,
                         feature: str) -> None:
    """One cell of a family's output against its hand-computed value (NaN means: must be missing)."""
    want = expected[customer][feature]
    actual = out.loc[customer, feature]
    if math.isnan(want):
        assert pd.isna(actual), (customer, feature, actual)
    else:
        assert actual == pytest.approx(want, rel=1e-12), (customer, feature)
