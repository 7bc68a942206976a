"""Property tests: tables that satisfy the contract load; one injected corruption is caught and located."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retain.contract import CHANNELS
from retain.ingest import ValidationFailed, load
from tests.retain.helpers import located, problems_of, write_tables

PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KEYS = st.text(alphabet="ABCDEFGHJK0123456789-_", min_size=1, max_size=6)  # never lower case: see UNKNOWN_ID
UNKNOWN_ID = "zz-unknown"
DAYS = st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31))
MOMENTS = st.datetimes(dt.datetime(2015, 1, 1), dt.datetime(2030, 12, 31))
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
TRUE_WORDS = ("true", "True", "TRUE", "yes", "y", "t", "1")
FALSE_WORDS = ("false", "False", "no", "N", "f", "0")


def column(draw, strategy, size: int) -> list:
    return draw(st.lists(strategy, min_size=size, max_size=size))


@st.composite
def valid_tables(draw) -> dict[str, pd.DataFrame]:
    """A few customers, transactions and interactions, as Python values, that satisfy the contract."""
    ids = draw(st.lists(KEYS, min_size=1, max_size=5, unique=True))
    n = len(ids)
    customers = pd.DataFrame(dtype=object, data={
        "customer_id": ids,
        "signup_date": column(draw, DAYS, n),
        "segment": column(draw, st.none() | st.sampled_from(["basic", "plus", "premium"]), n),
        "country": column(draw, st.none() | st.sampled_from(["US", "NA", "DE"]), n),
        "churned_at": column(draw, st.none() | DAYS, n),
    })  # object columns: None stays None, ints stay ints
    n_t = draw(st.integers(1, 8))
    order_ids = draw(st.lists(KEYS, min_size=n_t, max_size=n_t, unique=True))
    transactions = pd.DataFrame(dtype=object, data={
        "customer_id": column(draw, st.sampled_from(ids), n_t),
        "timestamp": column(draw, MOMENTS, n_t),
        "amount": column(draw, st.floats(0, 1e6, allow_nan=False, allow_infinity=False), n_t),
        "order_id": [key if keep else None for key, keep in zip(order_ids, column(draw, st.booleans(), n_t),
                                                                 strict=True)],
    })
    n_i = draw(st.integers(2, 8))
    opened = column(draw, MOMENTS, n_i)
    took = column(draw, st.none() | st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)), n_i)
    interactions = pd.DataFrame(dtype=object, data={
        "interaction_id": draw(st.lists(KEYS, min_size=n_i, max_size=n_i, unique=True)),
        "customer_id": column(draw, st.sampled_from(ids), n_i),
        "case_id": column(draw, st.sampled_from(["K1", "K2", "K3"]), n_i),
        "opened_at": opened,
        "closed_at": [None if d is None else o + d for o, d in zip(opened, took, strict=True)],
        "channel": column(draw, st.sampled_from(CHANNELS), n_i),
        "resolved": column(draw, st.booleans(), n_i),
        "transfers": column(draw, st.integers(0, 20), n_i),
        "handle_seconds": column(draw, st.floats(0, 1e5, allow_nan=False, allow_infinity=False), n_i),
        "ces": column(draw, st.none() | st.integers(1, 7), n_i),
        "csat": column(draw, st.none() | st.integers(1, 5), n_i),
        "nps": column(draw, st.none() | st.integers(0, 10), n_i),
        "text": column(draw, st.none() | WORDS, n_i),
    })
    return {"customers": customers, "transactions": transactions, "interactions": interactions}


def as_csv_cells(tables: dict[str, pd.DataFrame], draw) -> dict[str, pd.DataFrame]:
    """Every value as the text a CSV file would hold (booleans in any accepted spelling)."""
    def cell(value) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, bool):
            return draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=draw(st.sampled_from(["T", " "])))
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    return {name: frame.astype(object).map(cell) for name, frame in tables.items()}


def as_parquet_types(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same tables with real column types (dates, floats, nullable integers, booleans)."""
    typed = {name: frame.copy() for name, frame in tables.items()}
    moments = [("customers", "signup_date"), ("customers", "churned_at"), ("transactions", "timestamp"),
               ("interactions", "opened_at"), ("interactions", "closed_at")]
    for name, col in moments:
        if not any(isinstance(value, str) for value in typed[name][col]):  # a corrupted column stays text
            typed[name][col] = pd.to_datetime(typed[name][col]).astype("datetime64[us]")
    for col in ("ces", "csat", "nps"):
        typed["interactions"][col] = pd.array(typed["interactions"][col], dtype="Int64")
    typed["interactions"]["transfers"] = typed["interactions"]["transfers"].astype("int64")
    typed["interactions"]["resolved"] = typed["interactions"]["resolved"].astype(bool)
    return typed


def write(tables: dict[str, pd.DataFrame], fmt: str, draw, directory: Path) -> Path:
    cells = as_csv_cells(tables, draw) if fmt == "csv" else as_parquet_types(tables)
    return write_tables(directory, cells, fmt)


@PROPERTY_SETTINGS
@given(tables=valid_tables(), fmt=st.sampled_from(["csv", "parquet"]), data=st.data())
def test_valid_tables_pass(tables: dict[str, pd.DataFrame], fmt: str, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            loaded = load(write(tables, fmt, data.draw, Path(tmp)))
        except ValidationFailed as failure:
            raise AssertionError("valid tables refused:\n" + "\n".join(map(str, failure.problems))) from None
        got = {name: getattr(loaded, name).to_pandas() for name in tables}

    assert loaded.problems == []
    assert list(got["customers"]["customer_id"]) == list(tables["customers"]["customer_id"])
    assert list(got["customers"]["signup_date"].dt.date) == list(tables["customers"]["signup_date"])
    np.testing.assert_allclose(got["transactions"]["amount"], tables["transactions"]["amount"].astype(float),
                               rtol=1e-12)
    stamps = tables["transactions"]["timestamp"]
    assert list(got["transactions"]["timestamp"]) == list(map(pd.Timestamp, stamps))
    assert list(got["interactions"]["resolved"]) == list(tables["interactions"]["resolved"])
    ces = got["interactions"]["ces"]
    assert ces.astype(object).where(ces.notna(), None).tolist() == list(tables["interactions"]["ces"])
    assert list(got["interactions"]["interaction_id"]) == list(tables["interactions"]["interaction_id"])


CORRUPTIONS = ("negative amount", "duplicate id", "bad date", "unknown customer", "ces out of range")


@PROPERTY_SETTINGS
@given(tables=valid_tables(), fmt=st.sampled_from(["csv", "parquet"]), kind=st.sampled_from(CORRUPTIONS),
       data=st.data())
def test_one_corruption_is_caught_and_located(tables: dict[str, pd.DataFrame], fmt: str, kind: str,
                                              data: st.DataObject) -> None:
    def pick(table: str) -> int:
        return data.draw(st.integers(0, len(tables[table]) - 1), label=f"{table} row")

    def dependants(customer_id: str) -> set[tuple[str, int, str]]:
        return {(f"{name}.{fmt}", int(i) + 1, "customer_id") for name in ("transactions", "interactions")
                for i in np.flatnonzero(tables[name]["customer_id"] == customer_id)}

    if kind == "negative amount":
        row = pick("transactions")
        tables["transactions"].loc[row, "amount"] = -data.draw(st.floats(0.01, 1e6), label="minus")
        caught, allowed = {("transactions", row, "amount")}, set()
    elif kind == "duplicate id":
        first, second = sorted(data.draw(st.lists(st.integers(0, len(tables["interactions"]) - 1), min_size=2,
                                                  max_size=2, unique=True), label="rows"))
        interactions = tables["interactions"]
        interactions.loc[second, "interaction_id"] = interactions.loc[first, "interaction_id"]
        caught = {("interactions", second, "interaction_id"), ("interactions", first, "interaction_id")}
        allowed = set()
    elif kind == "bad date":
        row = pick("customers")
        customers = tables["customers"]
        customers["signup_date"] = customers["signup_date"].map(dt.date.isoformat)  # text, even in Parquet
        customers.loc[row, "signup_date"] = data.draw(st.sampled_from(["2024-02-30", "31/12/2024", "soon"]))
        caught, allowed = {("customers", row, "signup_date")}, dependants(customers.loc[row, "customer_id"])
    elif kind == "unknown customer":
        table = data.draw(st.sampled_from(["transactions", "interactions"]), label="table")
        row = pick(table)
        tables[table].loc[row, "customer_id"] = UNKNOWN_ID
        caught, allowed = {(table, row, "customer_id")}, set()
    else:
        row = pick("interactions")
        tables["interactions"].loc[row, "ces"] = data.draw(st.sampled_from([0, 8, 9, 100, -1]), label="ces")
        caught, allowed = {("interactions", row, "ces")}, set()
    expected = {(f"{table}.{fmt}", row + 1, col) for table, row, col in caught}

    with tempfile.TemporaryDirectory() as tmp:
        problems = problems_of(write(tables, fmt, data.draw, Path(tmp)))

    reported = located(problems)
    assert expected <= reported, f"{kind}: {expected - reported} not reported"
    assert reported <= expected | allowed, f"{kind}: unexpected {reported - expected - allowed}"
