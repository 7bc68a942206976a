"""The simulated world at a cutoff: each customer's state from the log and the truth, and the world's action
rules, on hand-made customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.actions import ACTION_NAMES
from retain.errors import RetainError
from retain.simulate import SampleData, SimulationParams, case_badness, walk_away_hazard
from retain.world import (
    World,
    cases_after,
    continue_cases,
    cutoff_pressure,
    cutoff_walk_away,
    start_at_cutoff,
    world_at,
)
from tests.retain.world_cases import AS_OF, hand_made

SEED = 5


@pytest.fixture(scope="module")
def world() -> World:
    return world_at(*hand_made(copies=3), AS_OF)


def kind_of(world: World) -> np.ndarray:
    return np.array([customer.rsplit("-", 1)[0] for customer in world.customer_ids])


def case_rows(world: World, kind: str) -> np.ndarray:
    return np.flatnonzero(kind_of(world)[world.cases["customer"].to_numpy()] == kind)


def test_state_at_the_cutoff(world: World) -> None:
    kinds = kind_of(world)
    cases = world.cases

    assert len(world) == 15 and len(cases) == 12  # every kind but quiet has one case per customer
    assert (world.alive == (kinds != "dead")).all()
    assert cases.loc[case_rows(world, "open"), ["contacts", "transfers", "switches"]].to_numpy().tolist() == [
        [2, 3, 1]] * 3
    assert cases.loc[case_rows(world, "open"), "open"].all() and cases.loc[case_rows(world, "open"), "ongoing"].all()
    assert cases.loc[case_rows(world, "over"), "open"].all()
    assert not cases.loc[case_rows(world, "over"), "ongoing"].any()  # its latest contact was 40 days ago
    assert not cases.loc[case_rows(world, "recent_resolved"), "open"].any()
    assert (world.recent_contact == np.isin(kinds, ["open", "dead", "recent_resolved"])).all()
    assert (world.latest_case[kinds == "quiet"] == -1).all()
    np.testing.assert_allclose(world.case_chance, SimulationParams().case_probability)


def test_which_customers_each_action_applies_to(world: World) -> None:
    kinds = kind_of(world)

    assert (world.applies("resolve_open_case") == np.isin(kinds, ["open", "over", "dead"])).all()
    assert (world.applies("single_owner") == np.isin(kinds, ["open", "over", "dead"])).all()
    assert (world.applies("service_recovery") == np.isin(kinds, ["open", "dead", "recent_resolved"])).all()
    with pytest.raises(ValueError, match="unknown action"):
        world.applies("send_flowers")


def test_baseline_continues_only_ongoing_open_cases(world: World) -> None:
    continuation = continue_cases(world, SEED)
    cases = world.cases
    settled = ~cases["ongoing"].to_numpy()

    np.testing.assert_array_equal(continuation.badness[settled], cases["badness"].to_numpy()[settled])
    ongoing = case_rows(world, "open")
    # more contacts and transfers can only add to what was seen; the case ends resolved or not
    resolved_now = case_badness(np.full(3, 2.0), np.ones(3), np.full(3, 3.0), np.ones(3))
    assert (continuation.badness[ongoing] >= resolved_now - 1e-12).all()


def test_resolve_open_case_recomputes_open_cases_as_resolved(world: World) -> None:
    continuation = continue_cases(world, SEED)
    everyone = np.ones(len(world), dtype=bool)

    after = cases_after(world, continuation, "resolve_open_case", everyone).badness

    for kind in ("open", "over"):
        rows = case_rows(world, kind)
        seen = world.cases.loc[rows]
        expected = case_badness(seen["contacts"].to_numpy(float), np.ones(len(rows)),
                                seen["transfers"].to_numpy(float), seen["switches"].to_numpy(float))
        np.testing.assert_allclose(after[rows], expected)
        assert (after[rows] < world.cases.loc[rows, "badness"].to_numpy()).all()  # unresolved as seen: 0.4 worse
    rows = case_rows(world, "recent_resolved")
    np.testing.assert_array_equal(after[rows], continuation.badness[rows])


def test_single_owner_makes_the_open_case_one_owners(world: World) -> None:
    continuation = continue_cases(world, SEED)
    everyone = np.ones(len(world), dtype=bool)

    after = cases_after(world, continuation, "single_owner", everyone)

    rows = case_rows(world, "open")  # seen: 2 contacts, 3 transfers, 1 switch; then continued in the baseline
    expected = case_badness(np.ones(3), continuation.resolved[rows].astype(float), np.zeros(3), np.zeros(3))
    np.testing.assert_allclose(after.badness[rows], expected)
    assert (after.badness[rows] < continuation.badness[rows]).all()
    np.testing.assert_array_equal(after.resolved, continuation.resolved)  # resolved or not as in the baseline
    over = case_rows(world, "over")  # one contact, no transfer: nothing to remove
    np.testing.assert_allclose(after.badness[over], 0.4)
    np.testing.assert_array_equal(after.badness[over], continuation.badness[over])
    rows = case_rows(world, "recent_resolved")  # not open: untouched
    np.testing.assert_array_equal(after.badness[rows], continuation.badness[rows])


def test_an_unresolved_case_leaves_a_walk_away_time_that_resolving_removes(world: World) -> None:
    continuation = continue_cases(world, SEED)
    everyone = np.ones(len(world), dtype=bool)
    kinds = kind_of(world)
    baseline = cutoff_walk_away(world, continuation)
    resolved = cutoff_walk_away(world, cases_after(world, continuation, "resolve_open_case", everyone))
    owned = cutoff_walk_away(world, cases_after(world, continuation, "single_owner", everyone))

    over = kinds == "over"  # unresolved for good, 40 days old: hazard 0.05 x (0.4 - 0.2) a day for 50 more days
    rows = case_rows(world, "over")
    hazard = walk_away_hazard(continuation.badness[rows], continuation.resolved[rows], world.params)
    expected = continuation.exposure[rows] / hazard
    np.testing.assert_allclose(baseline[over], np.where(expected <= 50.0, expected, np.inf))
    assert np.isinf(baseline[np.isin(kinds, ["quiet", "recent_resolved"])]).all()
    assert np.isinf(resolved).all()  # no open case is left unresolved
    assert (owned >= baseline).all()  # a lower hazard on the same draw: later, or never
    start = start_at_cutoff(world, continuation)
    np.testing.assert_array_equal(start.walk_at, baseline)
    np.testing.assert_allclose(start.pressure, cutoff_pressure(world, continuation.badness))


def test_service_recovery_relieves_the_latest_recent_case(world: World) -> None:
    continuation = continue_cases(world, SEED)
    everyone = np.ones(len(world), dtype=bool)
    relief = world.params.recovery_relief

    after = cases_after(world, continuation, "service_recovery", everyone).badness

    rows = case_rows(world, "open")
    np.testing.assert_allclose(after[rows], np.maximum(continuation.badness[rows] - relief, 0.0))
    rows = case_rows(world, "recent_resolved")
    assert (continuation.badness[rows] < relief).all()
    np.testing.assert_array_equal(after[rows], 0.0)  # floored at 0
    over = case_rows(world, "over")  # its only contact was 40 days ago
    np.testing.assert_array_equal(after[over], continuation.badness[over])


def test_an_action_for_nobody_or_for_those_it_does_not_apply_to_changes_nothing(world: World) -> None:
    continuation = continue_cases(world, SEED)
    baseline = cases_after(world, continuation, None, np.ones(len(world), dtype=bool)).badness
    for action in ACTION_NAMES:
        nobody = cases_after(world, continuation, action, np.zeros(len(world), dtype=bool)).badness
        outsiders = cases_after(world, continuation, action, ~world.applies(action)).badness
        np.testing.assert_array_equal(nobody, baseline)
        np.testing.assert_array_equal(outsiders, baseline)


def test_pressure_sums_decayed_cases(world: World) -> None:
    params = world.params
    badness = np.full(len(world.cases), 0.7)

    pressure = cutoff_pressure(world, badness)

    kinds = kind_of(world)
    assert (pressure[kinds == "quiet"] == 0).all()
    open_case = world.cases.loc[case_rows(world, "open")[0]]
    expected = (0.7 - params.neutral_badness) * np.exp(-open_case["age_days"] / params.hazard_memory_days)
    assert pressure[open_case["customer"]] == pytest.approx(expected)
    assert open_case["age_days"] == pytest.approx(5.0)


def test_truth_from_an_older_generator_is_refused() -> None:
    truth, transactions, interactions = hand_made(copies=1)

    with pytest.raises(RetainError, match="service_friction.*generate the data again"):
        world_at(truth.drop(columns=["service_friction"]), transactions, interactions, AS_OF)


def test_customers_without_truth_or_purchase_are_left_out() -> None:
    truth, transactions, interactions = hand_made(copies=1)
    stranger = pd.DataFrame({"customer_id": ["added/by-hand"], "timestamp": [transactions["timestamp"].min()],
                             "amount": [5.0]})
    later = pd.DataFrame({"customer_id": ["quiet-00000"], "timestamp": [pd.Timestamp(AS_OF) + pd.Timedelta(days=2)],
                          "amount": [5.0]})
    truth = pd.concat([truth, truth.iloc[[0]].assign(customer_id="never-bought")], ignore_index=True)
    truth.attrs["simulation"] = SimulationParams().model_dump_json()

    world = world_at(truth, pd.concat([transactions, stranger, later], ignore_index=True), interactions, AS_OF)

    assert "added/by-hand" not in set(world.customer_ids) and "never-bought" not in set(world.customer_ids)
    assert len(world) == 5


def test_generated_truth_holds_what_the_world_needs(small_sample: SampleData) -> None:
    truth = small_sample.truth

    assert truth["service_friction"].between(0, 1).all() and truth["service_friction"].std() > 0.05
    assert (truth["case_propensity"] > 0).all()
    world = world_at(truth, small_sample.transactions, small_sample.interactions, AS_OF)
    assert len(world) > 100 and 0 < world.alive.mean() < 1 and world.cases["open"].any()
