"""The sample-data generator: deterministic for a seed, contract-valid, and consistent with its own story."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from retain.contract import CHANNELS
from retain.ingest import load
from retain.reference import simulation_params
from retain.sample import TRUTH_FILE, read_truth, write_sample
from retain.simulate import (
    PRESETS,
    SampleData,
    SimulationParams,
    case_badness,
    dropout_probability,
    generate,
    walk_away_hazard,
    walk_away_time,
)
from tests.retain.helpers import TABLE_NAMES

FRAMES = ("customers", "transactions", "interactions", "truth")


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return generate(1500, 11)


def by_customer(sample: SampleData) -> pd.DataFrame:
    """One row per customer: signup, truth and first/last purchase."""
    purchases = sample.transactions.groupby("customer_id")["timestamp"].agg(["min", "max", "size"])
    return (sample.customers.set_index("customer_id")
            .join(sample.truth.set_index("customer_id"))
            .join(purchases))


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames() -> None:
    first, second = generate(400, 5), generate(400, 5)

    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert first.truth.attrs == second.truth.attrs


def test_different_seed_gives_different_frames() -> None:
    first, second = generate(400, 5), generate(400, 6)

    for name in FRAMES:
        with pytest.raises(AssertionError):
            pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert not first.transactions["amount"].head(50).equals(second.transactions["amount"].head(50))


def test_generator_leaves_global_random_state_alone() -> None:
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)

    generate(200, 1)

    np.testing.assert_array_equal(np.random.random(3), expected)


# ---------------------------------------------------------------- passes the contract


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_generated_data_passes_validation(small_sample: SampleData, tmp_path: Path, fmt: str) -> None:
    written = write_sample(small_sample, tmp_path, fmt)  # type: ignore[arg-type]

    loaded = load(tmp_path)
    data = SimpleNamespace(problems=loaded.problems, set_aside=loaded.set_aside,
                           **{name: loaded.table(name).to_pandas() for name in TABLE_NAMES})

    assert data.problems == []
    assert data.set_aside == 0
    assert sorted(path.name for path in written) == sorted(
        [f"customers.{fmt}", f"transactions.{fmt}", f"interactions.{fmt}", TRUTH_FILE])
    assert len(data.customers) == len(small_sample.customers)
    assert len(data.transactions) == len(small_sample.transactions)
    assert len(data.interactions) == len(small_sample.interactions)
    np.testing.assert_allclose(data.transactions["amount"], small_sample.transactions["amount"])
    assert list(data.interactions["ces"].astype("Float64").fillna(-1)) == list(
        small_sample.interactions["ces"].astype("Float64").fillna(-1))
    assert (data.transactions["timestamp"] == small_sample.transactions["timestamp"]).all()


def test_writing_another_format_replaces_the_old_files(small_sample: SampleData, tmp_path: Path) -> None:
    write_sample(small_sample, tmp_path, "parquet")
    write_sample(small_sample, tmp_path, "csv")

    names = sorted(path.name for path in tmp_path.iterdir())

    assert names == ["customers.csv", "interactions.csv", "transactions.csv", TRUTH_FILE]


def test_truth_file_keeps_the_simulation_params(tmp_path: Path) -> None:
    params = SimulationParams(hazard_beta=0.5, case_probability=0.6, days=500)
    sample = generate(300, 2, params)
    write_sample(sample, tmp_path)

    truth = read_truth(tmp_path)

    assert truth is not None
    assert json.loads(truth.attrs["simulation"]) == params.model_dump()
    assert simulation_params(truth) == params
    assert read_truth(tmp_path / "elsewhere") is None


def test_default_params_are_recorded(small_sample: SampleData) -> None:
    assert simulation_params(small_sample.truth) == SimulationParams()
    stored = SimulationParams.model_validate_json(small_sample.truth.attrs["simulation"])
    assert stored.r == pytest.approx(PRESETS["default"].r)


def _active_quarter(sample: SampleData, params: SimulationParams) -> tuple[float, float, float]:
    """(share of buyers active, churn rate among the active, median days between purchases) at a cutoff one
    quarter before the end: active = bought in the 90 days before it; churned = no purchase in the 90 after."""
    tx = sample.transactions
    cutoff = pd.Timestamp(params.start) + pd.Timedelta(days=params.days - 90)
    quarter = pd.Timedelta(days=90)
    last = tx[tx["timestamp"] < cutoff].groupby("customer_id")["timestamp"].max()
    active = last[last >= cutoff - quarter].index
    bought_after = tx[(tx["timestamp"] >= cutoff) & (tx["timestamp"] < cutoff + quarter)]["customer_id"]
    gaps = tx.sort_values("timestamp").groupby("customer_id")["timestamp"].diff().dt.days.dropna()
    return len(active) / len(last), float((~active.isin(bought_after)).mean()), float(gaps.median())


def test_the_default_world_is_a_business_with_a_retention_team() -> None:
    """Customers buy every few weeks and 10-30% of the active base stops buying in a quarter (issue 13)."""
    share_active, churn, gap_days = _active_quarter(generate(4000, 3), PRESETS["default"])
    assert gap_days <= 28
    assert 0.10 <= churn <= 0.30
    assert share_active > 0.5


def test_the_cdnow_preset_keeps_the_rare_buyers_world() -> None:
    share_active, churn, _ = _active_quarter(generate(4000, 3, PRESETS["cdnow"]), PRESETS["cdnow"])
    assert share_active < 0.4
    assert churn > 0.5


# ---------------------------------------------------------------- structural sanity


def test_one_row_per_customer_with_unique_keys(sample: SampleData) -> None:
    assert len(sample.customers) == 1500 and len(sample.truth) == 1500
    assert sample.customers["customer_id"].is_unique
    assert list(sample.truth["customer_id"]) == list(sample.customers["customer_id"])
    assert sample.transactions["order_id"].is_unique
    assert sample.interactions["interaction_id"].is_unique


def test_closed_at_not_before_opened_at(sample: SampleData) -> None:
    interactions = sample.interactions
    closed = interactions["closed_at"].notna()

    assert closed.any() and (~closed).any()  # some contacts still open at the end
    assert (interactions.loc[closed, "closed_at"] >= interactions.loc[closed, "opened_at"]).all()


def test_every_event_belongs_to_a_known_customer(sample: SampleData) -> None:
    known = set(sample.customers["customer_id"])

    assert set(sample.transactions["customer_id"]) <= known
    assert set(sample.interactions["customer_id"]) <= known
    assert (sample.interactions.groupby("case_id")["customer_id"].nunique() == 1).all()


def test_survey_answers_and_channels_are_in_range(sample: SampleData) -> None:
    interactions = sample.interactions
    ces, csat, nps = (interactions[c].dropna() for c in ("ces", "csat", "nps"))

    assert len(ces) > 0 and ces.between(1, 7).all()
    assert set(ces) == set(range(1, 8)) or len(set(ces)) >= 5  # the scale is used, not one value
    assert len(csat) > 0 and csat.between(1, 5).all()
    assert len(nps) > 0 and nps.between(0, 10).all()
    assert set(interactions["channel"]) <= set(CHANNELS)
    assert (interactions["transfers"] >= 0).all() and (interactions["handle_seconds"] >= 0).all()
    assert (sample.transactions["amount"] >= 0).all()


def test_signup_is_not_after_first_purchase(sample: SampleData) -> None:
    customers = by_customer(sample)

    assert customers["min"].notna().all()  # everyone buys at sign-up
    assert (customers["signup_date"] <= customers["min"]).all()
    assert ((customers["min"] - customers["signup_date"]) < pd.Timedelta(days=1)).all()


def test_no_purchase_after_dropout(sample: SampleData) -> None:
    customers = by_customer(sample)
    dropped = customers[customers["dropout_at"].notna()]

    assert 0.1 < len(dropped) / len(customers) < 0.9
    assert (dropped["dropout_at"] > dropped["signup_date"]).all()
    assert (dropped["max"] <= dropped["dropout_at"]).all()  # nothing bought after dropping out
    assert (customers["size"] >= 1).all()


def test_events_stay_inside_the_simulated_period(sample: SampleData) -> None:
    params = simulation_params(sample.truth)
    start = pd.Timestamp(params.start)
    end = start + pd.Timedelta(days=params.days)

    assert sample.transactions["timestamp"].between(start, end).all()
    assert sample.interactions["opened_at"].between(start, end).all()
    assert sample.interactions["closed_at"].dropna().le(end).all()
    assert sample.customers["signup_date"].between(start, start + pd.Timedelta(days=params.acquisition_days)).all()


def test_customers_are_acquired_until_the_last_day() -> None:
    """Real logs have customers acquired every day up to the export; the sample data must too."""
    sample = generate(3000, 8)
    params = simulation_params(sample.truth)
    last_day = pd.Timestamp(params.start) + pd.Timedelta(days=params.days - 1)
    signups = sample.customers["signup_date"]
    first_purchase = sample.transactions.groupby("customer_id")["timestamp"].min()

    assert signups.max() >= last_day - pd.Timedelta(days=3)
    assert (first_purchase >= last_day - pd.Timedelta(days=7)).sum() >= 10
    assert signups.dt.year.value_counts().min() > 0.4 * len(signups)  # steady, not front-loaded


def test_known_cancellations_follow_a_dropout(sample: SampleData) -> None:
    customers = by_customer(sample)
    cancelled = customers[customers["churned_at"].notna()]

    assert len(cancelled) > 0
    assert cancelled["dropout_at"].notna().all()
    assert (cancelled["churned_at"] >= cancelled["dropout_at"].dt.normalize()).all()
    assert (cancelled["churned_at"] <= cancelled["dropout_at"] + pd.Timedelta(days=14)).all()


def test_truth_columns_are_plausible(sample: SampleData) -> None:
    truth = sample.truth

    assert (truth["purchase_rate"] > 0).all()
    assert truth["dropout_probability"].between(0, 1).all()
    assert (truth["spend_scale"] > 0).all()
    assert (truth["hazard_multiplier"] >= 0).all()
    chance = truth["hazard_multiplier"] * truth["dropout_probability"]  # the chance at the last decision
    assert chance.between(0.0, 1.0 + 1e-9).all()


def test_case_badness_is_bounded_and_ordered() -> None:
    badness = case_badness(np.array([1, 1, 3, 8]), np.array([1.0, 0.0, 1.0, 0.0]), np.array([0, 0, 2, 9]),
                           np.array([0, 0, 1, 5]))

    assert badness[0] == 0.0  # resolved at first contact, no transfers
    assert badness[1] == pytest.approx(0.4)
    assert 0 < badness[2] < badness[3] == 1.0  # clipped to 1


def test_dropout_probability() -> None:
    params = SimulationParams()
    p = np.array([0.1, 0.1, 0.1, 0.9])
    pressure = np.array([0.0, 0.0, 0.3, 5.0])
    repeat = np.array([False, True, True, True])

    chance = dropout_probability(p, pressure, repeat, params)

    assert chance[0] == 0.0  # first purchase: nobody leaves right after it
    assert chance[1] == pytest.approx(0.1)  # plain BG/NBD after a repeat purchase
    assert chance[2] == pytest.approx(0.1 * np.exp(params.hazard_beta * 0.3))  # recent bad service raises it
    assert chance[3] == pytest.approx(params.dropout_cap)


def test_walk_away_over_an_unresolved_case() -> None:
    params = SimulationParams()
    badness = np.array([1.0, 1.0, params.neutral_badness, 0.6, 0.6])
    resolved = np.array([True, False, False, False, False])

    hazard = walk_away_hazard(badness, resolved, params)

    assert hazard[0] == 0.0  # a resolved case drives nobody away
    assert hazard[1] == pytest.approx(params.walk_rate * (1.0 - params.neutral_badness))
    assert hazard[2] == 0.0  # nor does a neutral one
    opened = np.array([10.0, 10.0, 10.0, 10.0, -100.0])
    at = walk_away_time(opened, hazard, np.full(5, 0.5), opened, params)
    assert np.isinf(at[[0, 2]]).all()
    assert at[1] == pytest.approx(10.0 + 0.5 / hazard[1]) and at[3] > at[1]  # a worse case: sooner
    late = walk_away_time(np.zeros(5), hazard, np.full(5, 0.5), opened, params)  # counted from a later time
    assert np.isinf(late[4]) or late[4] <= -100.0 + params.open_case_hazard_days
    assert np.isinf(walk_away_time(np.zeros(1), hazard[[1]], np.array([1e6]), np.zeros(1), params)).all()


def test_customers_walk_away_between_purchases_over_unresolved_cases() -> None:
    """Walking away happens between purchases: a dropout time after the customer's last purchase and not at it,
    more often than the BG/NBD decision at a purchase or a case opening can explain."""
    sample = generate(3000, 8)
    truth = sample.truth.set_index("customer_id")
    dropped = truth["dropout_at"].dropna()
    last_purchase = sample.transactions.groupby("customer_id")["timestamp"].max()
    case_opened = sample.interactions.groupby("case_id").agg(customer_id=("customer_id", "first"),
                                                             opened=("opened_at", "min"))
    at_an_event = (dropped.reindex(last_purchase.index).eq(last_purchase)
                   | dropped.reindex(last_purchase.index).isin(case_opened["opened"]))
    between = dropped.index.difference(at_an_event[at_an_event].index)
    assert len(dropped) > 100 and len(between) / len(dropped) > 0.2


def test_first_keeps_the_first_customers_with_their_events_and_truth(small_sample: SampleData) -> None:
    subset = small_sample.first(50)
    ids = set(small_sample.customers["customer_id"].iloc[:50])
    assert set(subset.customers["customer_id"]) == ids and len(subset.customers) == 50
    for name in ("transactions", "interactions", "truth"):
        kept, whole = getattr(subset, name), getattr(small_sample, name)
        assert set(kept["customer_id"]) <= ids
        assert len(kept) == int(whole["customer_id"].isin(ids).sum()) > 0
    no_truth = SampleData(small_sample.customers, small_sample.transactions, small_sample.interactions, None)
    assert no_truth.first(10).truth is None
