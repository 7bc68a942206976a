"""Replaying the simulated future with and without an action: common random numbers (the action is the only
difference), each action's effect on hand-made customers, and the bookkeeping of revenue and churn."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from retain.actions import ACTION_NAMES
from retain.replay import BASELINE, Horizons, replay, replay_actions, scenario_starts
from retain.simulate import SampleData, SimulationParams, generate
from retain.world import World, world_at
from tests.retain.world_cases import AS_OF, hand_made

SEED = 11
# the CDNOW-like world (rare buyers, cases that drive people away), whatever the default world is
PRESET_LIKE_CDNOW = SimulationParams(r=0.243, alpha=4.414, a=0.793, b=2.426, case_probability=0.6, walk_rate=3.0)
HORIZONS = Horizons(value_days=360, churn_days=90, monthly_discount_rate=0.01)


@pytest.fixture(scope="module")
def sample_world(small_sample: SampleData) -> World:
    cutoff = (small_sample.transactions["timestamp"].min() + (small_sample.transactions["timestamp"].max()
                                                             - small_sample.transactions["timestamp"].min()) * 0.7)
    return world_at(small_sample.truth, small_sample.transactions, small_sample.interactions, cutoff.date())


@pytest.fixture(scope="module")
def sample_outcomes(sample_world: World) -> pd.DataFrame:
    return replay_actions(sample_world, SEED, HORIZONS)


@pytest.fixture(scope="module")
def hand_world() -> World:
    return world_at(*hand_made(copies=1500), AS_OF)


@pytest.fixture(scope="module")
def hand_outcomes(hand_world: World) -> pd.DataFrame:
    outcomes = replay_actions(hand_world, SEED, HORIZONS)
    return outcomes.assign(kind=[customer.rsplit("-", 1)[0] for customer in outcomes.index])


# ---------------------------------------------------------------- common random numbers


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_an_action_for_nobody_is_exactly_the_baseline(sample_world: World, action: str) -> None:
    nobody = np.zeros(len(sample_world), dtype=bool)
    pressures = scenario_starts(sample_world, SEED, {action: nobody})

    future = replay(sample_world, pressures, SEED, HORIZONS)

    np.testing.assert_array_equal(future.revenue[1], future.revenue[0])
    np.testing.assert_array_equal(future.purchases[1], future.purchases[0])
    np.testing.assert_array_equal(future.churned[1], future.churned[0])


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_a_customer_the_action_does_not_apply_to_has_the_baseline_future(sample_outcomes: pd.DataFrame,
                                                                       hand_outcomes: pd.DataFrame,
                                                                       action: str) -> None:
    assert (~sample_outcomes[f"applies_{action}"]).sum() > 100 and hand_outcomes[f"applies_{action}"].sum() > 100
    for outcomes in (sample_outcomes, hand_outcomes):
        outside = ~outcomes[f"applies_{action}"]
        for measure in ("revenue", "purchases", "churned"):
            pd.testing.assert_series_equal(outcomes.loc[outside, f"{measure}_{action}"],
                                           outcomes.loc[outside, f"{measure}_{BASELINE}"], check_names=False)


def test_a_customer_treated_alone_has_the_future_they_have_when_everyone_is_treated(
        hand_world: World, hand_outcomes: pd.DataFrame) -> None:
    gains = hand_outcomes["revenue_resolve_open_case"] - hand_outcomes["revenue_baseline"]
    helped = int(np.flatnonzero(gains.to_numpy() > 0)[0])
    alone = np.zeros(len(hand_world), dtype=bool)
    alone[helped] = True

    future = replay(hand_world, scenario_starts(hand_world, SEED, {"resolve_open_case": alone}), SEED, HORIZONS)

    assert future.revenue[1, helped] == hand_outcomes["revenue_resolve_open_case"].iloc[helped]
    others = np.arange(len(hand_world)) != helped
    np.testing.assert_array_equal(future.revenue[1, others], future.revenue[0, others])


def test_the_replay_is_deterministic_for_a_seed_and_leaves_global_random_state_alone(sample_world: World,
                                                                                   sample_outcomes: pd.DataFrame
                                                                                   ) -> None:
    np.random.seed(3)
    expected = np.random.random(3)
    np.random.seed(3)

    again = replay_actions(sample_world, SEED, HORIZONS)
    other = replay_actions(sample_world, SEED + 1, HORIZONS)

    np.testing.assert_array_equal(np.random.random(3), expected)
    pd.testing.assert_frame_equal(again, sample_outcomes)
    assert not other["revenue_baseline"].equals(sample_outcomes["revenue_baseline"])


def test_replicates_average_independent_futures(sample_world: World, sample_outcomes: pd.DataFrame) -> None:
    two = replay_actions(sample_world, SEED, HORIZONS, replicates=2)
    second = replay(sample_world, scenario_starts(sample_world, SEED, replicate=1), SEED, HORIZONS, replicate=1)

    assert not np.array_equal(second.revenue[0], sample_outcomes["revenue_baseline"].to_numpy())
    np.testing.assert_allclose(two["revenue_baseline"], (sample_outcomes["revenue_baseline"] + second.revenue[0]) / 2)
    np.testing.assert_allclose(two["churned_single_owner"],
                               (sample_outcomes["churned_single_owner"] + second.churned[2]) / 2)


def test_an_action_never_costs_revenue_in_this_world(sample_outcomes: pd.DataFrame,
                                                     hand_outcomes: pd.DataFrame) -> None:
    """Lower service pressure means a lower dropout chance at every decision, on the same draws."""
    for outcomes in (sample_outcomes, hand_outcomes):
        for action in ACTION_NAMES:
            assert (outcomes[f"revenue_{action}"] >= outcomes["revenue_baseline"]).all()
            assert (outcomes[f"purchases_{action}"] >= outcomes["purchases_baseline"]).all()
    assert (hand_outcomes["revenue_resolve_open_case"] > hand_outcomes["revenue_baseline"]).any()


# ---------------------------------------------------------------- each action on hand-made customers


def test_resolving_an_open_case_lowers_future_dropout(hand_world: World, hand_outcomes: pd.DataFrame) -> None:
    starts = scenario_starts(hand_world, SEED)
    is_open = (hand_outcomes["kind"] == "open").to_numpy()
    resolved = hand_outcomes[is_open]

    after, before = starts["resolve_open_case"].pressure[is_open], starts[BASELINE].pressure[is_open]
    assert (after <= before).all() and (after < before).mean() > 0.5
    assert np.isinf(starts["resolve_open_case"].walk_at).all()  # no unresolved case left to walk away over
    assert np.isfinite(starts[BASELINE].walk_at[is_open]).any()
    assert resolved["purchases_resolve_open_case"].sum() > resolved["purchases_baseline"].sum() * 1.01
    assert (resolved["revenue_resolve_open_case"] > resolved["revenue_baseline"]).mean() > 0.05


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_a_customer_without_a_case_is_unaffected(hand_outcomes: pd.DataFrame, action: str) -> None:
    quiet = hand_outcomes[hand_outcomes["kind"] == "quiet"]

    assert not quiet[f"applies_{action}"].any()
    np.testing.assert_array_equal(quiet[f"revenue_{action}"], quiet["revenue_baseline"])
    assert quiet["revenue_baseline"].gt(0).all()  # they do buy: nothing to save is not nothing to lose


def test_single_owner_and_recovery_help_the_ongoing_case(hand_outcomes: pd.DataFrame) -> None:
    ongoing = hand_outcomes[hand_outcomes["kind"] == "open"]
    recovered = hand_outcomes[hand_outcomes["kind"] == "recent_resolved"]

    assert ongoing["revenue_single_owner"].sum() >= ongoing["revenue_baseline"].sum()
    assert ongoing["revenue_service_recovery"].sum() > ongoing["revenue_baseline"].sum()
    assert recovered["revenue_service_recovery"].sum() > recovered["revenue_baseline"].sum()


def test_the_dead_buy_nothing_whatever_is_done(hand_outcomes: pd.DataFrame) -> None:
    dead = hand_outcomes[hand_outcomes["kind"] == "dead"]

    for scenario in (BASELINE, *ACTION_NAMES):
        assert (dead[f"revenue_{scenario}"] == 0).all() and (dead[f"purchases_{scenario}"] == 0).all()
        assert dead[f"churned_{scenario}"].all()


def test_an_action_can_change_the_churn_label(hand_outcomes: pd.DataFrame) -> None:
    """An unresolved case makes customers walk away between purchases, so resolving it at the cutoff keeps some
    of them buying within 90 days; it never makes anyone churn."""
    over = hand_outcomes[hand_outcomes["kind"] == "over"]  # unresolved for good: a walk-away hazard for 50 days

    for action in ACTION_NAMES:
        assert (hand_outcomes[f"churned_{action}"] <= hand_outcomes["churned_baseline"]).all()
    assert over["churned_resolve_open_case"].mean() < over["churned_baseline"].mean() - 0.05


# ---------------------------------------------------------------- revenue and horizons


def test_revenue_is_discounted_by_month_like_the_clv(hand_world: World) -> None:
    pressures = {BASELINE: scenario_starts(hand_world, SEED)[BASELINE]}
    flat = replay(hand_world, pressures, SEED, Horizons(360, 90, 0.0))
    discounted = replay(hand_world, pressures, SEED, Horizons(360, 90, 0.05))

    np.testing.assert_array_equal(flat.purchases, discounted.purchases)
    bought = flat.purchases[0] > 0
    assert (discounted.revenue[0, bought] < flat.revenue[0, bought]).all()
    assert (discounted.revenue[0, bought] >= flat.revenue[0, bought] / 1.05 ** 12 - 1e-9).all()
    assert (discounted.revenue[0, bought] <= flat.revenue[0, bought] / 1.05 + 1e-9).all()


def test_horizons_bound_what_is_counted(hand_world: World) -> None:
    pressures = {BASELINE: scenario_starts(hand_world, SEED)[BASELINE]}
    short = replay(hand_world, pressures, SEED, Horizons(30, 10, 0.0))
    long = replay(hand_world, pressures, SEED, Horizons(360, 90, 0.0))

    assert (short.purchases <= long.purchases).all() and short.purchases.sum() < long.purchases.sum()
    assert (short.churned >= long.churned).all() and short.churned.mean() > long.churned.mean()
    # rate 0.08 a day: P(no purchase in 10 days) = exp(-0.8) for the living
    alive = hand_world.alive
    assert short.churned[0, alive].mean() == pytest.approx(np.exp(-0.8), abs=0.03)


def test_an_empty_world_replays_to_nothing() -> None:
    truth, transactions, interactions = hand_made(copies=1)
    world = world_at(truth, transactions, interactions, dt.date(2020, 1, 1))

    outcomes = replay_actions(world, SEED, HORIZONS)

    assert len(world) == 0 and outcomes.empty


# ---------------------------------------------------------------- the baseline is the simulator's own future


@pytest.mark.parametrize("params", [SimulationParams(), PRESET_LIKE_CDNOW], ids=["default", "cdnow-like"])
def test_the_baseline_replays_the_future_the_generator_wrote(params: SimulationParams) -> None:
    """From a cutoff a year into a generated log, the replayed baseline buys as often, and leaves as many
    customers without a purchase in 90 days, as the log itself does after the cutoff."""
    sample = generate(3000, 23, params)
    cutoff = dt.date(2024, 12, 31)
    end = pd.Timestamp(cutoff) + pd.Timedelta(days=1)
    world = world_at(sample.truth, sample.transactions, sample.interactions, cutoff)
    later = sample.transactions[sample.transactions["customer_id"].isin(world.customer_ids)
                                & (sample.transactions["timestamp"] >= end)]
    days = (later["timestamp"] - end) / pd.Timedelta(days=1)
    bought_90 = set(later.loc[days <= 90, "customer_id"])
    actual_churn = 1 - len(bought_90) / len(world)
    actual_purchases = int((days <= 270).sum())

    replays = [replay(world, {BASELINE: scenario_starts(world, seed)[BASELINE]}, seed, Horizons(270, 90, 0.0))
               for seed in range(3)]

    assert np.mean([future.churned.mean() for future in replays]) == pytest.approx(actual_churn, abs=0.03)
    assert np.mean([future.purchases.sum() for future in replays]) == pytest.approx(actual_purchases, rel=0.08)
