"""RFM family: hand-computed values, invariants on random frames, and agreement with lifetimes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.cutoff import Cutoff
from features.rfm import RFM_COLUMNS, rfm_features
from retain.contract import TRANSACTIONS
from retain.simulate import generate
from tests.features.conftest import as_contract, run, transactions

# 2024-03-27 is a Wednesday: its week ("W", Monday-based) starts on Monday 2024-03-25.
AS_OF = dt.date(2024, 3, 27)
WINDOWS = (30, 90)
Summary = Callable[..., pd.DataFrame]
RFM = list(RFM_COLUMNS)


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return transactions(
        # A: two purchases on Wed 2024-01-03 (one day period, 15.0), Fri 01-05 (same week), Wed 02-14,
        # the last second of as_of, and one at midnight after as_of (not known).
        {"customer_id": "A", "timestamp": "2024-01-03 09:00:00", "amount": 10.0},
        {"customer_id": "A", "timestamp": "2024-01-03 17:00:00", "amount": 5.0},
        {"customer_id": "A", "timestamp": "2024-01-05 12:00:00", "amount": 20.0},
        {"customer_id": "A", "timestamp": "2024-02-14 08:00:00", "amount": 30.0},
        {"customer_id": "A", "timestamp": "2024-03-27 23:59:59", "amount": 7.0},
        {"customer_id": "A", "timestamp": "2024-03-28 00:00:00", "amount": 100.0},
        # B: Monday 2024-02-26 late evening and Tuesday 02-27 at midnight, the first instant of the 30-day
        # window (which starts at 2024-03-28 - 30 days = 2024-02-27 00:00).
        {"customer_id": "B", "timestamp": "2024-02-26 23:59:59", "amount": 40.0},
        {"customer_id": "B", "timestamp": "2024-02-27 00:00:00", "amount": 10.0},
        # C: only buys after the cutoff.
        {"customer_id": "C", "timestamp": "2024-04-02 10:00:00", "amount": 99.0},
    )


@pytest.mark.parametrize(("unit", "expected"), [
    # D: A has day periods 01-03 (15), 01-05 (20), 02-14 (30), 03-27 (7): 3 repeats, (20 + 30 + 7) / 3;
    #    first 01-03 to last 03-27 = 84 days = T. B: 02-26 and 02-27: 1 repeat of 10, T = 30 days.
    ("D", {"A": (3.0, 84.0, 84.0, 19.0), "B": (1.0, 1.0, 30.0, 10.0)}),
    # W: A has weeks of 01-01 (35), 02-12 (30), 03-25 (7): 2 repeats, (30 + 7) / 2, 84 days = 12 weeks.
    #    B bought twice in the week of 02-26: no repeat, T = (03-25 - 02-26) / 7 = 4.
    ("W", {"A": (2.0, 12.0, 12.0, 18.5), "B": (0.0, 0.0, 4.0, 0.0)}),
])
def test_rfm_by_hand(tx: pd.DataFrame, unit: str, expected: dict[str, tuple[float, ...]]) -> None:
    out = run(rfm_features(ibis.memtable(tx), Cutoff(AS_OF), WINDOWS, unit))  # type: ignore[arg-type]
    assert list(out.index) == ["A", "B"], "C bought only after as_of: no RFM row"
    for customer, values in expected.items():
        assert tuple(out.loc[customer, RFM]) == pytest.approx(values, abs=1e-12), (unit, customer)


def test_windows_and_days_since_by_hand(tx: pd.DataFrame) -> None:
    out = run(rfm_features(ibis.memtable(tx), Cutoff(AS_OF), WINDOWS, "D"))
    # A: the 30-day window [02-27, 03-28) holds only the 03-27 purchase; 90 days [12-29, 03-28) holds all five
    # known purchases (the 03-28 one is after the cutoff).
    assert out.loc["A", "purchases_30d"] == 1
    assert out.loc["A", "spend_30d"] == pytest.approx(7.0)
    assert out.loc["A", "purchases_90d"] == 5
    assert out.loc["A", "spend_90d"] == pytest.approx(72.0)
    assert out.loc["A", "days_since_last_purchase"] == 0
    # B: the 02-27 00:00 purchase is inside the 30-day window, the 02-26 23:59:59 one is not.
    assert out.loc["B", "purchases_30d"] == 1
    assert out.loc["B", "spend_30d"] == pytest.approx(10.0)
    assert out.loc["B", "purchases_90d"] == 2
    assert out.loc["B", "spend_90d"] == pytest.approx(50.0)
    assert out.loc["B", "days_since_last_purchase"] == 29


def test_windowed_spend_is_zero_not_null_when_window_is_empty() -> None:
    frame = transactions({"customer_id": "A", "timestamp": "2023-01-01 12:00:00", "amount": 3.0})
    out = run(rfm_features(ibis.memtable(frame), Cutoff(AS_OF), WINDOWS, "D"))
    assert out.loc["A", "purchases_30d"] == 0
    assert out.loc["A", "spend_30d"] == 0.0
    assert out.loc["A", "days_since_last_purchase"] == (AS_OF - dt.date(2023, 1, 1)).days


# --- lifetimes as the reference -------------------------------------------------------------------


def lifetimes_reference(summary: Summary, frame: pd.DataFrame, as_of: dt.date, unit: str) -> pd.DataFrame:
    """lifetimes' RFM of the transactions known at `as_of` (alone, it keeps all of as_of's week)."""
    known = frame[frame["timestamp"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    reference = summary(known, "customer_id", "timestamp", "amount",
                        observation_period_end=pd.Timestamp(as_of), freq=unit)
    reference.index = reference.index.astype("string")
    return reference[RFM].astype("float64").sort_index()


def ours(frame: pd.DataFrame, as_of: dt.date, unit: str) -> pd.DataFrame:
    out = run(rfm_features(ibis.memtable(frame), Cutoff(as_of), WINDOWS, unit))  # type: ignore[arg-type]
    out.index = out.index.astype("string")
    return out[RFM]


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return as_contract(generate(2000, seed=11).transactions, TRANSACTIONS)


@pytest.mark.parametrize("unit", ["D", "W"])
@pytest.mark.parametrize("as_of", [dt.date(2024, 9, 18), dt.date(2025, 6, 1)])  # a Wednesday, a Sunday
def test_rfm_equals_lifetimes_on_simulated_data(simulated: pd.DataFrame, lifetimes_summary: Summary,
                                                unit: str, as_of: dt.date) -> None:
    expected = lifetimes_reference(lifetimes_summary, simulated, as_of, unit)
    actual = ours(simulated, as_of, unit)
    assert len(actual) > 500  # customers keep arriving, so fewer are known at the earlier cutoff
    # the data run past as_of, so the cutoff matters
    assert (simulated["timestamp"] >= pd.Timestamp(as_of) + pd.Timedelta(days=1)).any()
    pdt.assert_index_equal(actual.index, expected.index, check_names=False)
    pdt.assert_frame_equal(actual, expected, check_exact=False, rtol=0, atol=1e-9, check_names=False)


# --- properties on small random frames ------------------------------------------------------------

START = dt.datetime(2024, 1, 1)


@st.composite
def random_transactions(draw: st.DrawFn) -> tuple[pd.DataFrame, dt.date]:
    """Up to 12 purchases by up to 3 customers over ~10 weeks, several on the same day or week, some after
    as_of; as_of on any weekday."""
    as_of = START.date() + dt.timedelta(days=draw(st.integers(0, 70)))
    rows = draw(st.lists(st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 80),  # day
        st.sampled_from([0, 1, 43_199, 86_399]),  # second of the day: midnight, noon-ish, the last second
        st.integers(0, 10_000),  # cents
    ), min_size=1, max_size=12))
    frame = transactions(*[
        {"customer_id": c, "timestamp": START + dt.timedelta(days=d, seconds=s), "amount": cents / 100}
        for c, d, s, cents in rows
    ])
    return frame, as_of


@settings(max_examples=25, deadline=None)
@given(case=random_transactions(), unit=st.sampled_from(["D", "W"]))
def test_rfm_properties_on_random_frames(case: tuple[pd.DataFrame, dt.date], unit: str,
                                         lifetimes_summary: Summary) -> None:
    frame, as_of = case
    known = frame[frame["timestamp"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    actual = ours(frame, as_of, unit)
    assert set(actual.index) == set(known["customer_id"])
    assert (actual["recency"] >= 0).all()
    assert (actual["recency"] <= actual["T"]).all()
    never_again = actual["frequency"] == 0
    assert (actual.loc[never_again, "recency"] == 0).all()
    assert (actual.loc[never_again, "monetary_value"] == 0).all()
    assert np.allclose(actual["frequency"], np.round(actual["frequency"]))
    if len(known):
        expected = lifetimes_reference(lifetimes_summary, frame, as_of, unit)
        pdt.assert_frame_equal(actual, expected, check_exact=False, rtol=0, atol=1e-9, check_names=False)
