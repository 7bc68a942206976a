"""Churn labels, the out-of-time cutoff plan, and that features at a cutoff never see its label window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.build import FeatureConfig
from features.snapshot import prepare_sources
from retain.ingest import from_frames, load
from retain.sample import write_sample
from retain.simulate import generate
from training.labels import churn_labels, plan_cutoffs

AS_OF = dt.date(2024, 6, 30)
HORIZON = 90  # label window: the days 2024-07-01 .. 2024-09-28, i.e. [07-01 00:00, 09-29 00:00)


def _customers(churned_at: dict[str, str]) -> pd.DataFrame:
    ids = ["A", "B", "C", "D", "E", "F", "G", "H", "I"]
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="string"),
        "signup_date": pd.to_datetime(["2024-01-01"] * len(ids)).astype("datetime64[us]"),
        "churned_at": pd.to_datetime([churned_at.get(i) for i in ids]).astype("datetime64[us]"),
    })


def _transactions(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "timestamp": pd.to_datetime([r[1] for r in rows]).astype("datetime64[us]"),
        "amount": [10.0] * len(rows),
    })


def test_label_window_boundaries() -> None:
    customers = _customers({
        "E": "2024-08-15",  # cancels inside the window although they buy in it
        "F": "2024-09-28",  # cancels on the window's last day
        "G": "2024-09-29",  # cancels the day after the window: not this window's churn
        "H": "2024-06-30",  # cancelled on the cutoff day itself, no purchase after: churned anyway
    })
    transactions = _transactions(
        ("A", "2024-06-30 23:59:59"),  # on the as_of day: known at the cutoff, not in the label window
        ("B", "2024-07-01 00:00:00"),  # the first instant of the window
        ("C", "2024-09-28 23:59:59"),  # the last instant of the window: as_of + horizon days, still inside
        ("D", "2024-09-29 00:00:00"),  # the first instant after the window
        ("E", "2024-07-10 12:00:00"),
        ("F", "2024-07-10 12:00:00"),
        ("G", "2024-07-10 12:00:00"),
        ("I", "2024-01-05 12:00:00"), ("I", "2025-01-05 12:00:00"),  # before and long after the window
    )
    labels = churn_labels(customers, transactions, AS_OF, HORIZON)
    assert labels.name == "churned"
    assert labels.to_dict() == {"A": 1, "B": 0, "C": 0, "D": 1, "E": 1, "F": 1, "G": 0, "H": 1, "I": 1}


def test_label_window_is_the_horizon_days_after_the_cutoff_day() -> None:
    """A purchase on day as_of + k is in the window exactly for k = 1 .. horizon."""
    for horizon in (1, 7, 30):
        for k in range(0, horizon + 3):
            stamp = pd.Timestamp(AS_OF) + pd.Timedelta(days=k, hours=12)
            labels = churn_labels(_customers({}), _transactions(("A", str(stamp))), AS_OF, horizon)
            assert labels["A"] == (0 if 1 <= k <= horizon else 1), (horizon, k)


def test_every_customer_gets_a_label_even_without_transactions() -> None:
    labels = churn_labels(_customers({}), _transactions(), AS_OF, HORIZON)
    assert list(labels.index) == list("ABCDEFGHI")
    assert (labels == 1).all()
    assert labels.dtype.kind == "i"


def test_default_plan_by_hand() -> None:
    plan = plan_cutoffs(dt.date(2025, 12, 31), 90, 4, 30)
    assert plan.test == dt.date(2025, 10, 2)  # its label window is 10-03 .. 12-31
    assert plan.validation == dt.date(2025, 7, 4)  # window 07-05 .. 10-02
    assert plan.train == (dt.date(2025, 1, 5), dt.date(2025, 2, 4), dt.date(2025, 3, 6), dt.date(2025, 4, 5))
    assert plan.all == (*plan.train, plan.validation, plan.test)


@given(as_of=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)), horizon=st.integers(1, 400),
       cutoffs=st.integers(1, 12), step=st.integers(1, 120))
def test_plan_is_out_of_time_and_label_windows_never_overlap_later_cutoffs(
        as_of: dt.date, horizon: int, cutoffs: int, step: int) -> None:
    plan = plan_cutoffs(as_of, horizon, cutoffs, step)
    window_end = dt.timedelta(days=horizon)  # the last day of a cutoff's label window is cutoff + horizon
    assert len(plan.train) == cutoffs == len(set(plan.train))
    assert list(plan.train) == sorted(plan.train)
    assert plan.train[-1] < plan.validation < plan.test < as_of
    assert all(cutoff + window_end <= plan.validation for cutoff in plan.train)
    assert plan.validation + window_end <= plan.test
    assert plan.test + window_end <= as_of
    assert plan.test + window_end == as_of  # the test window uses the newest data there is


# --- leakage: features at a cutoff are blind to what happens in its label window -------------------------

CUTOFF = dt.date(2025, 3, 31)
CONFIG = FeatureConfig(windows=(30, 90, 365))


@dataclass(frozen=True)
class Frames:
    """The validated tables as (small) pandas frames, which these tests change by hand."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    interactions: pd.DataFrame


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Frames:
    folder = tmp_path_factory.mktemp("labels-data")
    write_sample(generate(400, 31337), folder)
    data = load(folder)
    return Frames(*(data.table(name).to_pyarrow().to_pandas() for name in ("customers", "transactions",
                                                                            "interactions")))


def _features(frames: Frames) -> pd.DataFrame:
    data = from_frames(frames.customers, frames.transactions, frames.interactions)
    sources = prepare_sources(data.con, data, None)
    return sources.features_at(CUTOFF, CONFIG).to_pandas().sort_values("customer_id", ignore_index=True)


@pytest.fixture(scope="module")
def features_before(small_data: Frames) -> pd.DataFrame:
    return _features(small_data)


def _append(frame: pd.DataFrame, rows: list[dict[str, object]]) -> pd.DataFrame:
    extra = pd.DataFrame(rows, columns=frame.columns).astype(frame.dtypes.to_dict())
    return pd.concat([frame, extra], ignore_index=True)


def _with(data: Frames, **frames: pd.DataFrame) -> Frames:
    return replace(data, **frames)


def test_features_never_see_the_label_window(small_data: Frames, features_before: pd.DataFrame) -> None:
    before = features_before
    labels_before = churn_labels(small_data.customers, small_data.transactions, CUTOFF, HORIZON)
    bought = set(small_data.transactions.loc[small_data.transactions["timestamp"] < pd.Timestamp(CUTOFF),
                                             "customer_id"])
    known = before.loc[before["customer_id"].isin(bought), "customer_id"]
    churners = [c for c in known if labels_before[c] == 1 and pd.isna(
        small_data.customers.set_index("customer_id").at[c, "churned_at"])]
    stayer = next(c for c in known if labels_before[c] == 0)
    x1, x2, x3 = churners[:3]
    last_case = small_data.interactions.sort_values("opened_at").drop_duplicates("customer_id", keep="last")
    case_of = dict(zip(last_case["customer_id"], last_case["case_id"], strict=True))
    window_start = pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)
    window_last_second = window_start + pd.Timedelta(days=HORIZON) - pd.Timedelta(seconds=1)

    transactions = _append(small_data.transactions, [
        {"customer_id": x1, "timestamp": window_start, "amount": 500.0, "order_id": "X1"},
        {"customer_id": x2, "timestamp": window_last_second, "amount": 5.0, "order_id": "X2"},
        {"customer_id": "NEW", "timestamp": window_start + pd.Timedelta(days=2), "amount": 9.0,
         "order_id": "X3"},
    ])
    awful = {"channel": "phone", "resolved": False, "transfers": 6, "handle_seconds": 3600.0, "ces": 1,
             "csat": 1, "nps": 0,
             "text": "This is the worst service ever. Useless, angry, furious, I hate you. Cancel now!"}
    interactions = _append(small_data.interactions, [
        # the first instant after the cutoff, on a case the customer already had (must not reopen it)
        {"interaction_id": "XI1", "customer_id": x1, "case_id": case_of.get(x1, "XK1"),
         "opened_at": window_start, "closed_at": window_start + pd.Timedelta(hours=2), **awful},
        {"interaction_id": "XI2", "customer_id": stayer, "case_id": "XK2", "opened_at": window_start,
         "closed_at": None, **awful},
        {"interaction_id": "XI3", "customer_id": x3, "case_id": "XK3",
         "opened_at": window_start + pd.Timedelta(days=30), "closed_at": None, **awful},
        {"interaction_id": "XI4", "customer_id": "NEW", "case_id": "XK4",
         "opened_at": window_start + pd.Timedelta(days=3), "closed_at": None, **awful},
    ])
    customers = small_data.customers.copy()
    customers.loc[customers["customer_id"] == stayer, "churned_at"] = window_start + pd.Timedelta(days=10)
    customers = _append(customers, [{"customer_id": "NEW", "signup_date": window_start, "segment": "plus",
                                     "country": "US", "churned_at": None}])
    later = _with(small_data, customers=customers, transactions=transactions, interactions=interactions)

    after = _features(later)
    pd.testing.assert_frame_equal(after, before)
    assert "NEW" not in set(after["customer_id"])

    labels_after = churn_labels(later.customers, later.transactions, CUTOFF, HORIZON)
    changed = labels_after.drop("NEW")[labels_after.drop("NEW") != labels_before]
    assert changed.to_dict() == {x1: 0, x2: 0, stayer: 1}
    assert labels_after[x3] == 1  # a contact in the window is no purchase


def test_the_leakage_check_is_sensitive(small_data: Frames, features_before: pd.DataFrame) -> None:
    """Control: the same kind of append on the cutoff day itself does change the features (not the label)."""
    before = features_before.set_index("customer_id")
    customer = before.index[before["T"].notna()][0]
    late_on_cutoff_day = pd.Timestamp(CUTOFF) + pd.Timedelta(hours=23, minutes=59)
    transactions = _append(small_data.transactions, [
        {"customer_id": customer, "timestamp": late_on_cutoff_day, "amount": 500.0, "order_id": "Y1"}])
    after = _features(_with(small_data, transactions=transactions)).set_index("customer_id")
    assert after.at[customer, "days_since_last_purchase"] == 0
    assert after.at[customer, "spend_30d"] == pytest.approx(before.at[customer, "spend_30d"] + 500.0)
    assert (churn_labels(small_data.customers, transactions, CUTOFF, HORIZON)
            .equals(churn_labels(small_data.customers, small_data.transactions, CUTOFF, HORIZON)))


def test_test_labels_use_no_data_after_as_of(small_data: Frames) -> None:
    """The test cutoff's labels are the same whether or not the log runs on past `as_of`."""
    as_of = dt.date(2025, 6, 30)
    plan = plan_cutoffs(as_of, HORIZON, 2, 30)
    tx = small_data.transactions
    upto = tx[tx["timestamp"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    assert len(upto) < len(tx)
    for cutoff in plan.all:
        assert churn_labels(small_data.customers, upto, cutoff, HORIZON).equals(
            churn_labels(small_data.customers, tx, cutoff, HORIZON))
