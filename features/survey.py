"""Survey answers and tenure: what customers told us directly, and how long we have known them."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from features.catalogue import Feature, windowed
from features.contacts import latest_value
from features.cutoff import Cutoff

CSAT_TOP_TWO = 4


def catalogue(windows: Sequence[int]) -> list[Feature]:
    return [
        *windowed("survey", "rate", "csat_top2_share", "Share of CSAT answers of 4-5 in the last {w} days.",
                  windows),
        Feature(name="nps_last_class", family="survey", kind="category",
                definition="Class of the latest NPS answer: promoter (9-10), passive (7-8), detractor (0-6)."),
        Feature(name="days_since_last_contact", family="survey", kind="days",
                definition="Days from the latest service contact to the cutoff."),
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
        Feature(name="tenure_days", family="customer", kind="days", definition="Days from sign-up to the cutoff."),
        Feature(name="segment", family="customer", kind="category", definition="Business segment (input)."),
        Feature(name="country", family="customer", kind="category", definition="Country (input)."),
    ]
