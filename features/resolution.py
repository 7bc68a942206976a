"""Resolution: whether the customer's problems got solved, first time, for good, and how fast."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from features import wording
from features.catalogue import Family, Feature, Wording, windowed
from features.cutoff import Cutoff


def catalogue(windows: Sequence[int]) -> list[Feature]:
    """Every resolution feature is actionable: solving cases, first time and for good, is the service itself."""
    family: Family = "resolution"
    longest = max(windows)
    return [
        *windowed(family, "rate", "first_contact_resolution_rate",
                  "Share of cases opened in the last {w} days that their first contact resolved.", windows,
                  unit="share", low=0, high=1, actionable=True,
                  reason=Wording(render=wording.first_contact_resolution, missing=wording.NO_CASE_OPENED)),
        *windowed(family, "rate", "reopen_rate",
                  "Share of cases resolved in the last {w} days that were contacted about again afterwards.",
                  windows, unit="share", low=0, high=1, actionable=True,
                  reason=Wording(render=wording.reopen, missing=wording.NO_CASE_RESOLVED)),
        *windowed(family, "amount", "median_hours_to_resolve",
                  "Median hours from a case's first contact to its resolution, cases resolved in the last {w} "
                  "days.", windows, unit="hours", actionable=True,
                  reason=Wording(render=wording.hours_to_resolve, missing=wording.NO_CASE_RESOLVED)),
        Feature(name="open_cases", family=family, kind="count", unit="cases", actionable=True,
                definition=f"Cases opened in the last {longest} days whose latest contact did not resolve them.",
                reason=Wording(render=wording.open_cases, missing="no unresolved cases")),
        Feature(name="oldest_open_case_days", family=family, kind="days", unit="days", actionable=True,
                definition="Days since the first contact of the oldest of those open cases.",
                reason=Wording(render=wording.oldest_open_case, missing="no open case")),
    ]


NO_HOURS = ibis.null("float64")


def resolution_features(cases: ir.Table, cutoff: Cutoff, windows: Sequence[int]) -> ir.Table:
    """One row per customer with a case at or before the cutoff (see `features.contacts.cases_at`)."""
    # cast before dividing: a float literal is a DECIMAL on Spark, and the quotient would be rounded
    seconds_to_resolve = (cases.resolved_at.epoch_seconds() - cases.opened_at.epoch_seconds()).cast("float64")
    hours_to_resolve = seconds_to_resolve / 3600
    is_open = ~cases.resolved_now & cutoff.within(cases.opened_at, max(windows))
    return cases.group_by("customer_id").aggregate(
        **{f"first_contact_resolution_rate_{w}d": cases.first_contact_resolved.cast("float64")
           .mean(where=cutoff.within(cases.opened_at, w)) for w in windows},
        **{f"reopen_rate_{w}d": cases.reopened.cast("float64")
           .mean(where=cases.first_resolution_contact_at.notnull()
                 & cutoff.within(cases.first_resolution_contact_at, w)) for w in windows},
        # the filter as an ifelse, not median(where=): Spark's percentile refuses ibis's filtered 0.5
        **{f"median_hours_to_resolve_{w}d": ibis.ifelse(
            cases.resolved_at.notnull() & cutoff.within(cases.resolved_at, w), hours_to_resolve, NO_HOURS).median()
           for w in windows},
        open_cases=cases.count(where=is_open),
        oldest_open_case_days=cutoff.days_since(cases.opened_at.min(where=is_open)),
    )
