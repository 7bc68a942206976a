"""Next best actions on the model side: each action's change to a hand-made customer's features, whom it
applies to, and how value saved and the best action follow from the churn model's scores."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from features.build import FeatureConfig, catalogue
from features.catalogue import Feature
from models.actions import ACTIONS, GOOD_CES, GOOD_SENTIMENT, ActionTable, Row, action_effects
from retain.actions import ACTION_NAMES

FEATURES: Mapping[str, Feature] = {f.name: f for f in catalogue(FeatureConfig())}
COLUMNS = [name for name, f in FEATURES.items() if f.kind != "category"]


def _row(**values: float) -> Row:
    """One customer: the given features, counts 0 and everything else missing."""
    numeric = np.array([[values.get(name, 0.0 if FEATURES[name].zero_when_absent else np.nan)
                         for name in COLUMNS]], dtype=np.float32)
    return Row(numeric, COLUMNS, FEATURES)


def _after(name: str, row: Row) -> Row:
    changed = Row(row.values.copy(), COLUMNS, FEATURES)
    ACTIONS[name].change(changed, np.ones(1, dtype=bool))  # type: ignore[index]
    return changed


def test_the_actions_are_the_ones_the_simulator_knows_and_change_only_actionable_features() -> None:
    assert tuple(ACTIONS) == ACTION_NAMES
    busy = _row(open_cases=1, oldest_open_case_days=10, cases_30d=2, contacts_30d=6, transfers_30d=3,
                repeat_contacts_30d=2, channel_switches_30d=1, first_contact_resolution_rate_30d=0.5,
                sentiment_last=-0.7, ces_last=2)
    for name in ACTION_NAMES:
        changed = np.flatnonzero(~np.isclose(busy.values[0], _after(name, busy).values[0], equal_nan=True))
        touched = {COLUMNS[i] for i in changed}
        assert touched, name
        assert all(FEATURES[column].actionable or column.startswith(("contacts_", "cases_")) for column in touched)


def test_resolve_open_case_closes_it_resolved_on_first_contact() -> None:
    customer = _row(open_cases=1, oldest_open_case_days=10, cases_30d=2, cases_90d=4, cases_365d=4,
                    first_contact_resolution_rate_30d=0.5, first_contact_resolution_rate_90d=0.25,
                    first_contact_resolution_rate_365d=0.25)
    action = ACTIONS["resolve_open_case"]
    assert action.applies(customer).tolist() == [True]
    after = _after("resolve_open_case", customer)
    assert after.get("open_cases")[0] == 0 and np.isnan(after.get("oldest_open_case_days")[0])
    assert after.get("first_contact_resolution_rate_30d")[0] == pytest.approx(1.0)
    assert after.get("first_contact_resolution_rate_90d")[0] == pytest.approx(0.5)
    assert not action.applies(_row(cases_30d=2, first_contact_resolution_rate_30d=1.0))[0]


def test_an_open_case_older_than_a_window_leaves_that_window_alone() -> None:
    customer = _row(open_cases=1, oldest_open_case_days=60, cases_30d=1, cases_90d=3,
                    first_contact_resolution_rate_30d=0.0, first_contact_resolution_rate_90d=0.0)
    after = _after("resolve_open_case", customer)
    assert after.get("first_contact_resolution_rate_30d")[0] == 0.0
    assert after.get("first_contact_resolution_rate_90d")[0] == pytest.approx(1 / 3)


def test_single_owner_removes_the_open_cases_transfers_repeats_and_switches() -> None:
    customer = _row(open_cases=1, oldest_open_case_days=10, contacts_30d=5, contacts_90d=8, cases_30d=1,
                    cases_90d=3, transfers_30d=3, transfers_90d=5, repeat_contacts_30d=2, repeat_contacts_90d=2,
                    channel_switches_30d=1, channel_switches_90d=1, transfers_per_contact_30d=0.6)
    assert ACTIONS["single_owner"].applies(customer)[0]
    after = _after("single_owner", customer)
    assert [after.get(f"transfers_{w}d")[0] for w in (30, 90)] == [0, 2]
    assert [after.get(f"repeat_contacts_{w}d")[0] for w in (30, 90)] == [0, 0]
    assert after.get("channel_switches_30d")[0] == 0
    assert after.get("contacts_30d")[0] == 3 and after.get("contacts_90d")[0] == 6
    assert after.get("transfers_per_contact_30d")[0] == 0.0
    assert after.get("contacts_per_case_30d")[0] == pytest.approx(3.0)
    smooth = _row(open_cases=1, oldest_open_case_days=10, contacts_30d=1, cases_30d=1)
    assert not ACTIONS["single_owner"].applies(smooth)[0]  # nothing to remove
    assert not ACTIONS["single_owner"].applies(_row(transfers_30d=4, contacts_30d=2))[0]  # no open case


def test_service_recovery_lifts_a_poor_recent_last_contact_to_good_levels() -> None:
    customer = _row(contacts_30d=1, sentiment_last=-0.6, ces_last=2)
    assert ACTIONS["service_recovery"].applies(customer)[0]
    after = _after("service_recovery", customer)
    assert after.get("sentiment_last")[0] == pytest.approx(GOOD_SENTIMENT)
    assert after.get("ces_last")[0] == pytest.approx(GOOD_CES)
    delighted = _row(contacts_30d=1, sentiment_last=0.9, ces_last=7)
    assert not ACTIONS["service_recovery"].applies(delighted)[0]
    assert not ACTIONS["service_recovery"].applies(_row(contacts_90d=3, sentiment_last=-0.9, ces_last=1))[0]
    assert _after("service_recovery", _row(contacts_30d=1, sentiment_last=0.8, ces_last=3)).get(
        "sentiment_last")[0] == pytest.approx(0.8)  # never made worse


def test_value_saved_is_clv_times_the_drop_never_negative_and_zero_where_no_action_applies() -> None:
    rows = np.vstack([
        _row(open_cases=1, oldest_open_case_days=5, cases_30d=1, contacts_30d=3, transfers_30d=2).values,
        _row(contacts_30d=1, sentiment_last=-0.5, ces_last=2).values,
        _row().values,
    ])
    probability = np.array([0.6, 0.4, 0.3])
    clv = np.array([100.0, 50.0, 80.0])
    open_cases = COLUMNS.index("open_cases")
    sentiment = COLUMNS.index("sentiment_last")

    def churn_after(numeric: np.ndarray, which: np.ndarray) -> np.ndarray:
        """A stand-in churn model: resolving drops churn by 0.3, recovery raises it (a model can say so)."""
        closed = (rows[which, open_cases] >= 1) & (numeric[:, open_cases] < 1)
        return probability[which] - 0.3 * closed + 0.1 * (numeric[:, sentiment] >= GOOD_SENTIMENT)

    table = action_effects(rows, COLUMNS, FEATURES, probability, clv, churn_after)
    assert table.value_saved["resolve_open_case"].tolist() == pytest.approx([30.0, 0.0, 0.0])
    assert table.value_saved["service_recovery"].tolist() == [0.0, 0.0, 0.0]  # raises churn: saves nothing
    assert np.isnan(table.churn_probability_after["resolve_open_case"][1:]).all()
    best, saved = table.best()
    assert best.tolist() == ["resolve_open_case", None, None]
    assert saved.tolist() == pytest.approx([30.0, 0.0, 0.0])


def test_the_best_action_is_the_one_saving_most() -> None:
    table = ActionTable(
        churn_probability_after={name: np.array([0.2, 0.5]) for name in ACTION_NAMES},
        value_saved={"resolve_open_case": np.array([5.0, 0.0]), "single_owner": np.array([9.0, 0.0]),
                     "service_recovery": np.array([1.0, 0.0])})
    best, saved = table.best()
    assert best.tolist() == ["single_owner", None] and saved.tolist() == [9.0, 0.0]
