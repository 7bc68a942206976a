"""Survey family on the hand-written service log of conftest.py (see the comment there for every contact)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from features.contacts import contacts_at
from features.cutoff import Cutoff
from features.survey import survey_features
from tests.features.conftest import SERVICE_AS_OF, SERVICE_WINDOWS, interactions, run


def survey(log: pd.DataFrame, as_of: dt.date = SERVICE_AS_OF) -> pd.DataFrame:
    cutoff = Cutoff(as_of)
    return run(survey_features(contacts_at(ibis.memtable(log), cutoff, 7), cutoff, SERVICE_WINDOWS))


@pytest.fixture(scope="module")
def out(service_log: pd.DataFrame) -> pd.DataFrame:
    return survey(service_log)


def test_one_row_per_customer_with_a_known_contact(out: pd.DataFrame) -> None:
    assert list(out.index) == ["A", "B", "C"]
    assert set(out.columns) == {"csat_top2_share_30d", "csat_top2_share_90d", "nps_last_class",
                                "days_since_last_contact"}


def test_csat_top2_share_by_hand(out: pd.DataFrame) -> None:
    # A, 30 days: i4 (CSAT 4); i5's CSAT 1 is not known before it closes. 90 days: i1 (2), i3 (5), i4 (4).
    assert out.loc["A", "csat_top2_share_30d"] == 1.0
    assert out.loc["A", "csat_top2_share_90d"] == pytest.approx(2 / 3)
    # B never answered; C answered (5) only in 2023.
    for customer in ("B", "C"):
        assert pd.isna(out.loc[customer, "csat_top2_share_30d"])
        assert pd.isna(out.loc[customer, "csat_top2_share_90d"])


def test_nps_last_class_by_hand(out: pd.DataFrame) -> None:
    assert out.loc["A", "nps_last_class"] == "passive"  # i4's 8; i5's 0 is not known yet
    assert pd.isna(out.loc["B", "nps_last_class"])
    assert out.loc["C", "nps_last_class"] == "detractor"  # 6, however old


@pytest.mark.parametrize(("as_of", "expected"), [
    (dt.date(2024, 2, 19), "detractor"),  # i1's 3 (i3 on 02-20 not yet)
    (dt.date(2024, 3, 5), "promoter"),  # i3's 10
    (dt.date(2024, 3, 31), "passive"),  # i4's 8
    (dt.date(2024, 4, 5), "detractor"),  # i6's 0 (i5's 0 too)
])
def test_nps_last_class_follows_the_cutoff(service_log: pd.DataFrame, as_of: dt.date, expected: str) -> None:
    assert survey(service_log, as_of).loc["A", "nps_last_class"] == expected


@pytest.mark.parametrize(("nps", "expected"), [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                               (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_nps_class_boundaries(nps: int, expected: str) -> None:
    log = interactions({"interaction_id": "x", "customer_id": "A", "case_id": "K", "nps": nps,
                        "opened_at": "2024-03-10 10:00", "closed_at": "2024-03-10 10:05"})
    assert survey(log).loc["A", "nps_last_class"] == expected


@pytest.mark.parametrize("reverse", [False, True])
def test_latest_nps_tie_broken_by_interaction_id(reverse: bool) -> None:
    # Two answers opened at the same instant: the larger interaction_id counts as the latest, whatever the
    # row order.
    rows = [
        {"interaction_id": "x2", "customer_id": "A", "case_id": "K", "nps": 10,
         "opened_at": "2024-03-10 10:00", "closed_at": "2024-03-10 10:05"},
        {"interaction_id": "x1", "customer_id": "A", "case_id": "K", "nps": 2,
         "opened_at": "2024-03-10 10:00", "closed_at": "2024-03-10 10:05"},
    ]
    log = interactions(*(reversed(rows) if reverse else rows))
    assert survey(log).loc["A", "nps_last_class"] == "promoter"


def test_days_since_last_contact_by_hand(out: pd.DataFrame) -> None:
    assert out.loc["A", "days_since_last_contact"] == 1  # i5 on 03-30 (i6 is after the cutoff)
    assert out.loc["B", "days_since_last_contact"] == 6  # k5 on 03-25, still open
    assert out.loc["C", "days_since_last_contact"] == 121  # c2 on 2023-12-01
