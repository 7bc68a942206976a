"""Survey answers and tenure: what customers told us directly, and how long we have known them."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from features import wording
from features.catalogue import Feature, Wording, windowed
from features.contacts import latest_value
from features.cutoff import Cutoff

CSAT_TOP_TWO = 4
NPS_CLASSES = ("promoter", "passive", "detractor")


def catalogue(windows: Sequence[int]) -> list[Feature]:
    """Survey answers are the customer's verdict on past service, not something a retention team changes
    directly (it changes the service they judge): not actionable."""
    return [
        *windowed("survey", "rate", "csat_top2_share", "Share of CSAT answers of 4-5 in the last {w} days.",
                  windows, unit="share", low=0, high=1, reason=Wording(render=wording.csat, missing=wording.NO_CSAT)),
        Feature(name="nps_last_class", family="survey", kind="category", values=NPS_CLASSES, unit="NPS class",
                definition="Class of the latest NPS answer: promoter (9-10), passive (7-8), detractor (0-6).",
                reason=Wording(render=wording.nps_class, missing="no NPS answer on record", numeric=False,
                               other_level="not an NPS {level}")),
        Feature(name="days_since_last_contact", family="survey", kind="days", unit="days",
                definition="Days from the latest service contact to the cutoff.",
                reason=Wording(render=wording.since_contact, missing=wording.NO_CONTACT)),
    ]


def survey_features(contacts: ir.Table, cutoff: Cutoff, windows: Sequence[int]) -> ir.Table:
    """One row per customer with a contact at or before the cutoff."""
    c = contacts
    answers = c.group_by("customer_id").aggregate(
        **{f"csat_top2_share_{w}d": (c.csat_known >= CSAT_TOP_TWO).cast("float64")
           .mean(where=cutoff.within(c.opened_at, w)) for w in windows},
        days_since_last_contact=cutoff.days_since(c.opened_at.max()),
    )
    nps = latest_value(c, "nps_known", "nps_last")
    nps_class = nps.select(
        "customer_id",
        nps_last_class=ibis.cases(
            (nps.nps_last >= 9, "promoter"), (nps.nps_last >= 7, "passive"), else_="detractor"
        ),
    )
    return answers.left_join(nps_class, "customer_id").drop("customer_id_right")


def tenure_catalogue() -> list[Feature]:
    return [
        Feature(name="tenure_days", family="customer", kind="days", unit="days",
                definition="Days from sign-up to the cutoff.",
                reason=Wording(render=wording.tenure, missing="sign-up date unknown")),
        Feature(name="segment", family="customer", kind="category", definition="Business segment (input).",
                reason=Wording(render=wording.segment, missing="segment not recorded", numeric=False)),
        Feature(name="country", family="customer", kind="category", definition="Country (input).",
                reason=Wording(render=wording.country, missing="country not recorded", numeric=False)),
    ]
