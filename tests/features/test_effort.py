"""Effort family on the hand-written service log of conftest.py (see the comment there for every contact)."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from features.contacts import cases_at, contacts_at
from features.cutoff import Cutoff
from features.effort import effort_features
from tests.features.conftest import SERVICE_AS_OF, SERVICE_WINDOWS, assert_hand_computed, interactions, run

NAN = math.nan


def effort(log: pd.DataFrame, as_of: dt.date = SERVICE_AS_OF, windows: tuple[int, ...] = SERVICE_WINDOWS,
           repeat_contact_days: int = 7) -> pd.DataFrame:
    cutoff = Cutoff(as_of)
    contacts = contacts_at(ibis.memtable(log), cutoff, repeat_contact_days)
    return run(effort_features(contacts, cases_at(contacts), cutoff, windows))


@pytest.fixture(scope="module")
def out(service_log: pd.DataFrame) -> pd.DataFrame:
    return effort(service_log)


EXPECTED = {
    # A, 30 days: i4 (K2) and i5 (K3); i5's CES is not known yet (closed after the cutoff); i6 is after it.
    # A, 90 days: i1-i5 over K1-K3; K1 needed 3 contacts; i2 is a repeat and a switch; CES 2, 6, 7.
    "A": {
        "contacts_30d": 2, "contacts_90d": 5,
        "cases_30d": 2, "cases_90d": 3,
        "contacts_per_case_30d": 1.0, "contacts_per_case_90d": 5 / 3,
        "repeat_contacts_30d": 0, "repeat_contacts_90d": 1,
        "transfers_30d": 3, "transfers_90d": 6,
        "transfers_per_contact_30d": 3 / 2, "transfers_per_contact_90d": 6 / 5,
        "channel_switches_30d": 0, "channel_switches_90d": 1,
        "many_contact_case_share_30d": 0.0, "many_contact_case_share_90d": 1 / 3,
        "ces_mean_30d": 7.0, "ces_mean_90d": 5.0,
        "low_effort_share_30d": 1.0, "low_effort_share_90d": 2 / 3,
        "ces_last": 7,
        "handle_seconds_mean_30d": 150.0, "handle_seconds_mean_90d": 420.0,
    },
    # B, 30 days: j2 (a repeat exactly 7 days after j1; a switch), j3 (a switch), k5 on another case (5 days
    # after j3 but neither a repeat nor a switch). K4 has 3 contacts in all, K5 one. 90 days adds j1.
    "B": {
        "contacts_30d": 3, "contacts_90d": 4,
        "cases_30d": 2, "cases_90d": 2,
        "contacts_per_case_30d": 1.5, "contacts_per_case_90d": 2.0,
        "repeat_contacts_30d": 1, "repeat_contacts_90d": 1,
        "transfers_30d": 1, "transfers_90d": 1,
        "transfers_per_contact_30d": 1 / 3, "transfers_per_contact_90d": 1 / 4,
        "channel_switches_30d": 2, "channel_switches_90d": 2,
        "many_contact_case_share_30d": 0.5, "many_contact_case_share_90d": 0.5,
        "ces_mean_30d": 4.0, "ces_mean_90d": 4.0,
        "low_effort_share_30d": 0.0, "low_effort_share_90d": 0.0,
        "ces_last": 4,
        "handle_seconds_mean_30d": 310.0, "handle_seconds_mean_90d": 247.5,
    },
    # C: contacts only in 2023, outside both windows: counts 0, rates missing, but the latest CES is known.
    "C": {
        "contacts_30d": 0, "contacts_90d": 0,
        "cases_30d": 0, "cases_90d": 0,
        "contacts_per_case_30d": NAN, "contacts_per_case_90d": NAN,
        "repeat_contacts_30d": 0, "repeat_contacts_90d": 0,
        "transfers_30d": 0, "transfers_90d": 0,
        "transfers_per_contact_30d": NAN, "transfers_per_contact_90d": NAN,
        "channel_switches_30d": 0, "channel_switches_90d": 0,
        "many_contact_case_share_30d": NAN, "many_contact_case_share_90d": NAN,
        "ces_mean_30d": NAN, "ces_mean_90d": NAN,
        "low_effort_share_30d": NAN, "low_effort_share_90d": NAN,
        "ces_last": 3,
        "handle_seconds_mean_30d": NAN, "handle_seconds_mean_90d": NAN,
    },
}


def test_one_row_per_customer_with_a_known_contact(out: pd.DataFrame) -> None:
    assert list(out.index) == ["A", "B", "C"]
    assert set(out.columns) == set(EXPECTED["A"])


@pytest.mark.parametrize("customer", sorted(EXPECTED))
@pytest.mark.parametrize("feature", sorted(EXPECTED["A"]))
def test_effort_by_hand(out: pd.DataFrame, customer: str, feature: str) -> None:
    assert_hand_computed(out, EXPECTED, customer, feature)


def test_answers_and_contacts_become_known_with_the_cutoff(service_log: pd.DataFrame) -> None:
    # On 04-05, i5 (closed 04-02, CES 1) and i6 (opened 04-01, CES 1, 5 transfers) are known.
    later = effort(service_log, as_of=dt.date(2024, 4, 5))
    assert later.loc["A", "ces_last"] == 1
    assert later.loc["A", "contacts_30d"] == 3  # i4, i5, i6 in [03-07, 04-06)
    assert later.loc["A", "transfers_30d"] == 8
    assert later.loc["A", "ces_mean_30d"] == pytest.approx(3.0)  # (7 + 1 + 1) / 3


@pytest.mark.parametrize(("repeat_days", "expected"), [(7, 1), (6, 0), (14, 2)])
def test_repeat_contact_threshold(repeat_days: int, expected: int) -> None:
    # Contacts on one case 7 days apart, then 7 days and 1 second apart; one on another case an hour later.
    log = interactions(
        {"interaction_id": "x1", "customer_id": "A", "case_id": "K1", "opened_at": "2024-03-01 10:00:00"},
        {"interaction_id": "x2", "customer_id": "A", "case_id": "K1", "opened_at": "2024-03-08 10:00:00"},
        {"interaction_id": "x3", "customer_id": "A", "case_id": "K1", "opened_at": "2024-03-15 10:00:01"},
        {"interaction_id": "x4", "customer_id": "A", "case_id": "K2", "opened_at": "2024-03-15 11:00:00"},
    )
    out = effort(log, repeat_contact_days=repeat_days)
    assert out.loc["A", "repeat_contacts_90d"] == expected
    assert out.loc["A", "contacts_90d"] == 4



def test_case_ids_are_per_customer() -> None:
    # The contract makes interaction_id unique, not case_id: two customers' case "1" are two cases.
    log = interactions(
        {"interaction_id": "x1", "customer_id": "A", "case_id": "1", "opened_at": "2024-03-10 10:00",
         "closed_at": "2024-03-10 10:05", "resolved": True, "channel": "phone"},
        {"interaction_id": "x2", "customer_id": "A", "case_id": "1", "opened_at": "2024-03-11 10:00",
         "closed_at": "2024-03-11 10:05", "resolved": True, "channel": "phone"},
        {"interaction_id": "y1", "customer_id": "B", "case_id": "1", "opened_at": "2024-03-12 10:00",
         "closed_at": "2024-03-12 10:05", "resolved": True, "channel": "chat"},
        {"interaction_id": "y2", "customer_id": "B", "case_id": "1", "opened_at": "2024-03-13 10:00",
         "closed_at": "2024-03-13 10:05", "resolved": True, "channel": "chat"},
    )
    out = effort(log)
    assert list(out["repeat_contacts_30d"]) == [1, 1]
    assert list(out["channel_switches_30d"]) == [0, 0]
    assert list(out["many_contact_case_share_30d"]) == [0.0, 0.0]  # 2 contacts each, not 4
