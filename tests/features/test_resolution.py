"""Resolution family on the hand-written service log of conftest.py (see the comment there)."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from features.contacts import cases_at, contacts_at
from features.cutoff import Cutoff
from features.resolution import resolution_features
from tests.features.conftest import SERVICE_AS_OF, SERVICE_WINDOWS, assert_hand_computed, interactions, run

NAN = math.nan
K1_HOURS = 4 * 24 + 1 + 20 / 60  # opened 02-01 09:00, first resolved by i2, closed 02-05 10:20
K2_HOURS = 0.5  # i4 03-10 08:00-08:30
K4_HOURS = 19 * 24 + 0.5  # opened 03-01 09:00, resolved by j3, closed 03-20 09:30


def resolution(log: pd.DataFrame, as_of: dt.date = SERVICE_AS_OF,
               windows: tuple[int, ...] = SERVICE_WINDOWS) -> pd.DataFrame:
    cutoff = Cutoff(as_of)
    return run(resolution_features(cases_at(contacts_at(ibis.memtable(log), cutoff, 7)), cutoff, windows))


EXPECTED = {
    # A: K1 (02-01, not resolved first time, resolved by i2 and contacted again: reopened), K2 (03-10,
    # resolved first time; i6 on 04-01 is after the cutoff), K3 (03-30; i5 closes after the cutoff: open).
    "A": {
        "first_contact_resolution_rate_30d": 0.5, "first_contact_resolution_rate_90d": 1 / 3,
        "reopen_rate_30d": 0.0, "reopen_rate_90d": 0.5,
        "median_hours_to_resolve_30d": K2_HOURS,
        "median_hours_to_resolve_90d": (K1_HOURS + K2_HOURS) / 2,
        "open_cases": 1, "oldest_open_case_days": 1,
    },
    # B: K4 (opened 03-01, before the 30-day window; resolved by its third contact), K5 (03-25, still open).
    "B": {
        "first_contact_resolution_rate_30d": 0.0, "first_contact_resolution_rate_90d": 0.0,
        "reopen_rate_30d": 0.0, "reopen_rate_90d": 0.0,
        "median_hours_to_resolve_30d": K4_HOURS, "median_hours_to_resolve_90d": K4_HOURS,
        "open_cases": 1, "oldest_open_case_days": 6,
    },
    # C: cases from 2023 only; K7 is still open but older than the longest window.
    "C": {
        "first_contact_resolution_rate_30d": NAN, "first_contact_resolution_rate_90d": NAN,
        "reopen_rate_30d": NAN, "reopen_rate_90d": NAN,
        "median_hours_to_resolve_30d": NAN, "median_hours_to_resolve_90d": NAN,
        "open_cases": 0, "oldest_open_case_days": NAN,
    },
}


@pytest.fixture(scope="module")
def out(service_log: pd.DataFrame) -> pd.DataFrame:
    return resolution(service_log)


def test_one_row_per_customer_with_a_known_case(out: pd.DataFrame) -> None:
    assert list(out.index) == ["A", "B", "C"]
    assert set(out.columns) == set(EXPECTED["A"])


@pytest.mark.parametrize("customer", sorted(EXPECTED))
@pytest.mark.parametrize("feature", sorted(EXPECTED["A"]))
def test_resolution_by_hand(out: pd.DataFrame, customer: str, feature: str) -> None:
    assert_hand_computed(out, EXPECTED, customer, feature)


def test_contact_closed_after_the_cutoff_is_not_resolved_at_the_cutoff() -> None:
    # One contact, opened the day before as_of, closed (resolved) two days after it.
    log = interactions({"interaction_id": "x1", "customer_id": "A", "case_id": "K1", "resolved": True,
                        "opened_at": "2024-03-30 12:00", "closed_at": "2024-04-02 09:00"})
    at_cutoff = resolution(log)
    assert at_cutoff.loc["A", "open_cases"] == 1
    assert at_cutoff.loc["A", "oldest_open_case_days"] == 1
    assert at_cutoff.loc["A", "first_contact_resolution_rate_30d"] == 0.0
    assert pd.isna(at_cutoff.loc["A", "median_hours_to_resolve_30d"])
    assert pd.isna(at_cutoff.loc["A", "reopen_rate_30d"])
    after = resolution(log, as_of=dt.date(2024, 4, 2))
    assert after.loc["A", "open_cases"] == 0
    assert pd.isna(after.loc["A", "oldest_open_case_days"])
    assert after.loc["A", "first_contact_resolution_rate_30d"] == 1.0
    assert after.loc["A", "median_hours_to_resolve_30d"] == pytest.approx(69.0)
    assert after.loc["A", "reopen_rate_30d"] == 0.0


def test_later_cutoff_sees_the_reopen_and_the_resolution(service_log: pd.DataFrame) -> None:
    # On 04-05: K3 is resolved (i5 closed 04-02), K2 was contacted again by i6 after its resolution and i6
    # did not resolve it, so K2 is reopened and open again (opened 03-10: 26 days).
    later = resolution(service_log, as_of=dt.date(2024, 4, 5))
    assert later.loc["A", "open_cases"] == 1
    assert later.loc["A", "oldest_open_case_days"] == 26
    assert later.loc["A", "first_contact_resolution_rate_30d"] == 1.0  # K2 and K3 opened in [03-07, 04-06)
    assert later.loc["A", "reopen_rate_30d"] == 0.5  # K2 reopened, K3 not


@pytest.mark.parametrize(("hours", "expected"), [([1, 2, 30], 2.0), ([1, 2, 3, 30], 2.5), ([5], 5.0)])
def test_median_hours_to_resolve_is_the_median(hours: list[int], expected: float) -> None:
    # One case per duration, each resolved by its only contact, all in March.
    opened = [dt.datetime(2024, 3, 3 + n, 8) for n in range(len(hours))]
    log = interactions(*[
        {"interaction_id": f"x{n}", "customer_id": "A", "case_id": f"K{n}", "resolved": True,
         "opened_at": opened[n], "closed_at": opened[n] + dt.timedelta(hours=h)}
        for n, h in enumerate(hours)
    ])
    assert resolution(log).loc["A", "median_hours_to_resolve_30d"] == pytest.approx(expected)


def test_case_ids_are_per_customer() -> None:
    # The contract makes interaction_id unique, not case_id: A's and B's case "1" are two cases, each
    # resolved by its first contact.
    log = interactions(
        {"interaction_id": "x1", "customer_id": "A", "case_id": "1", "opened_at": "2024-03-10 10:00",
         "closed_at": "2024-03-10 10:05", "resolved": True},
        {"interaction_id": "y1", "customer_id": "B", "case_id": "1", "opened_at": "2024-03-12 10:00",
         "closed_at": "2024-03-12 10:05", "resolved": True},
    )
    out = resolution(log)
    assert list(out["first_contact_resolution_rate_30d"]) == [1.0, 1.0]
    assert list(out["open_cases"]) == [0, 0]
    assert list(out["reopen_rate_30d"]) == [0.0, 0.0]


@pytest.mark.parametrize("reverse", [False, True])
def test_same_instant_contacts_ordered_by_interaction_id(reverse: bool) -> None:
    # Two contacts on a case at the same instant: "a" (not resolving) is the first, "b" (resolving) the
    # latest, whatever the row order.
    rows = [
        {"interaction_id": "a", "customer_id": "A", "case_id": "K", "opened_at": "2024-03-10 10:00",
         "closed_at": "2024-03-10 10:05", "resolved": False},
        {"interaction_id": "b", "customer_id": "A", "case_id": "K", "opened_at": "2024-03-10 10:00",
         "closed_at": "2024-03-10 10:05", "resolved": True},
    ]
    out = resolution(interactions(*(reversed(rows) if reverse else rows)))
    assert out.loc["A", "first_contact_resolution_rate_30d"] == 0.0
    assert out.loc["A", "open_cases"] == 0
