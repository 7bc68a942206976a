"""The CDNOW log shipped with lifetimes: converted to our contract, it passes validation and our RFM on it is
lifetimes' own summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pandas.testing as pdt
import pytest

from features.cutoff import Cutoff
from features.rfm import RFM_COLUMNS, rfm_features
from retain.cdnow import cdnow_tables
from retain.contract import INTERACTIONS, TRANSACTIONS
from retain.ingest import load
from retain.rules import IBIS_TYPES
from retain.sample import write_sample
from retain.simulate import SampleData
from tests.features.conftest import as_contract, run

AS_OF = dt.date(1998, 6, 30)  # the last day of the log
RFM = list(RFM_COLUMNS)


@pytest.fixture(scope="module")
def cdnow() -> SampleData:
    return cdnow_tables()


def test_sizes_and_shape(cdnow: SampleData) -> None:
    assert len(cdnow.customers) == 23_570
    assert cdnow.customers["customer_id"].is_unique
    assert len(cdnow.transactions) == 69_659
    assert set(cdnow.transactions["customer_id"]) == set(cdnow.customers["customer_id"])
    assert cdnow.transactions["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert cdnow.transactions["timestamp"].max() == pd.Timestamp(AS_OF)
    assert (cdnow.transactions["amount"] >= 0).all()
    first = cdnow.transactions.groupby("customer_id")["timestamp"].min()
    signup = cdnow.customers.set_index("customer_id")["signup_date"]
    pdt.assert_series_equal(signup.sort_index(), first.sort_index(), check_names=False, check_dtype=False)
    assert cdnow.truth is None
    assert len(cdnow.interactions) == 0
    assert list(cdnow.interactions.columns) == list(INTERACTIONS.column_names)


@pytest.mark.parametrize("unit", ["D", "W"])
def test_rfm_equals_lifetimes_on_cdnow(cdnow: SampleData, unit: str,
                                       lifetimes_summary: Callable[..., pd.DataFrame]) -> None:
    transactions = as_contract(cdnow.transactions, TRANSACTIONS)
    ours = run(rfm_features(ibis.memtable(transactions), Cutoff(AS_OF), (30,), unit))  # type: ignore[arg-type]
    ours = ours[RFM]
    ours.index = ours.index.astype(object)
    expected = lifetimes_summary(cdnow.transactions, "customer_id", "timestamp", "amount",
                                 observation_period_end=pd.Timestamp(AS_OF), freq=unit)
    expected = expected[RFM].astype("float64").sort_index()
    expected.index = expected.index.astype(object)
    assert len(ours) == 23_570
    pdt.assert_index_equal(ours.index, expected.index, check_names=False)
    pdt.assert_frame_equal(ours, expected, check_exact=False, rtol=0, atol=1e-9, check_names=False)


def test_cdnow_passes_validation(cdnow: SampleData, tmp_path: Path) -> None:
    written = write_sample(cdnow, tmp_path)
    assert sorted(p.name for p in written) == ["customers.parquet", "interactions.parquet",
                                               "transactions.parquet"]
    data = load(tmp_path)  # raises ValidationFailed on any problem
    assert data.problems == []
    assert data.set_aside == 0
    assert data.customers.count().execute() == 23_570
    assert data.transactions.count().execute() == 69_659
    assert data.interactions.count().execute() == 0
    assert data.transactions.amount.sum().execute() == pytest.approx(cdnow.transactions["amount"].sum())
    assert {n: type(t) for n, t in data.interactions.schema().items()} == {
        c.name: type(IBIS_TYPES[c.kind]) for c in INTERACTIONS.columns}
