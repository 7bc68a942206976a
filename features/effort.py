"""Customer effort: how much work the customer had to put in to get help."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis.expr.types as ir

from features import wording
from features.aggregates import exact_mean
from features.catalogue import Family, Feature, Wording, windowed
from features.contacts import latest_value
from features.cutoff import Cutoff

LOW_EFFORT_MIN_CES = 5
MANY_CONTACTS = 3


def catalogue(windows: Sequence[int], repeat_contact_days: int = 7) -> list[Feature]:
    # Actionable: how hard the service made it (repeats, transfers, switches, contacts per case, effort scores,
    # handle time). Raw contact and case counts are not: they measure how much help the customer asked for,
    # which a retention team cannot lower without acting on one of the others.
    family: Family = "effort"
    ces: dict[str, Any] = {"unit": "CES points 1-7", "low": 1, "high": 7}
    return [
        *windowed(family, "count", "contacts", "Service contacts opened in the last {w} days.", windows,
                  unit="contacts", reason=_words(wording.contacts)),
        *windowed(family, "count", "cases", "Distinct cases with a contact in the last {w} days.", windows,
                  unit="cases", reason=_words(wording.cases)),
        *windowed(family, "rate", "contacts_per_case", "Contacts per case in the last {w} days.", windows,
                  unit="contacts per case", actionable=True, reason=_words(wording.contacts_per_case)),
        *windowed(family, "count", "repeat_contacts",
                  f"Contacts in the last {{w}} days that follow one on the same case within {repeat_contact_days} "
                  "days.", windows, unit="contacts", actionable=True, reason=_words(wording.repeat_contacts)),
        # a total (sum of each contact's transfers), but of whole numbers: an integer column
        *windowed(family, "total", "transfers", "Transfers between agents in the last {w} days.", windows,
                  unit="transfers", dtype_override="int64", actionable=True, reason=_words(wording.transfers)),
        *windowed(family, "rate", "transfers_per_contact", "Transfers between agents per contact, last {w} days.",
                  windows, unit="transfers per contact", actionable=True,
                  reason=_words(wording.transfers_per_contact)),
        *windowed(family, "count", "channel_switches",
                  "Contacts in the last {w} days on another channel than the case's previous contact.", windows,
                  unit="contacts", actionable=True, reason=_words(wording.channel_switches)),
        *windowed(family, "rate", "many_contact_case_share",
                  f"Share of cases active in the last {{w}} days that needed {MANY_CONTACTS}+ contacts so far.",
                  windows, unit="share", low=0, high=1, actionable=True,
                  reason=_words(wording.many_contact_case_share)),
        *windowed(family, "score", "ces_mean", "Mean Customer Effort Score (1-7, 7 easy), last {w} days.",
                  windows, **ces, actionable=True, reason=_words(wording.ces, wording.NO_CES)),
        *windowed(family, "rate", "low_effort_share",
                  f"Share of CES answers of {LOW_EFFORT_MIN_CES}-7 (low effort) in the last {{w}} days.", windows,
                  unit="share", low=0, high=1, actionable=True,
                  reason=_words(wording.low_effort_share, wording.NO_CES)),
        Feature(name="ces_last", family=family, kind="score", definition="Latest CES answer known at the cutoff.",
                **ces, actionable=True, reason=_words(wording.ces, wording.NO_CES)),
        *windowed(family, "amount", "handle_seconds_mean", "Mean agent handle time (s), last {w} days.",
                  windows, unit="seconds", actionable=True, reason=_words(wording.handle_seconds)),
    ]


def _words(render: Callable[[float, str], str], missing: str = wording.NO_CONTACT) -> Wording:
    return Wording(render=render, missing=missing)


def effort_features(contacts: ir.Table, cases: ir.Table, cutoff: Cutoff, windows: Sequence[int]) -> ir.Table:
    """One row per customer with a contact at or before the cutoff (see `features.contacts`).

    Cases in a window are counted from `cases`, not as a distinct count of contacts' case ids: a case has a
    contact in the last w days exactly when its latest contact (all are known at the cutoff) is in them. The
    result is the same, and DuckDB cannot spill a grouped aggregate that mixes DISTINCT with other aggregates
    (it ran out of a 64 MB memory limit that the rest of the query stays within)."""
    per_contact = contacts.group_by("customer_id").aggregate(
        **{name: expr for w in windows for name, expr in _contact_windows(contacts, cutoff, w).items()}
    )
    per_case = cases.group_by("customer_id").aggregate(**{
        name: expr for w in windows for name, expr in {
            f"cases_{w}d": cases.count(where=cutoff.within(cases.last_contact_at, w)),
            f"many_contact_case_share_{w}d": (cases.contacts >= MANY_CONTACTS)
            .cast("float64").mean(where=cutoff.within(cases.last_contact_at, w)),
        }.items()
    })
    ces_last = latest_value(contacts, "ces_known", "ces_last")
    joined = (per_contact.left_join(per_case, "customer_id").drop("customer_id_right")
              .left_join(ces_last, "customer_id").drop("customer_id_right"))
    return joined.mutate(**{
        f"contacts_per_case_{w}d": joined[f"contacts_{w}d"].cast("float64")
        / joined[f"cases_{w}d"].nullif(0).cast("float64") for w in windows})


def _contact_windows(c: ir.Table, cutoff: Cutoff, w: int) -> dict[str, ir.Value]:
    inside = cutoff.within(c.opened_at, w)
    return {
        f"contacts_{w}d": c.count(where=inside),
        f"repeat_contacts_{w}d": c.count(where=inside & c.is_repeat),
        f"transfers_{w}d": c.transfers.sum(where=inside).fill_null(0),
        f"transfers_per_contact_{w}d": c.transfers.cast("float64").mean(where=inside),
        f"channel_switches_{w}d": c.count(where=inside & c.is_channel_switch),
        f"ces_mean_{w}d": c.ces_known.cast("float64").mean(where=inside),
        f"low_effort_share_{w}d": (c.ces_known >= LOW_EFFORT_MIN_CES).cast("float64").mean(where=inside),
        f"handle_seconds_mean_{w}d": exact_mean(c.handle_seconds, inside),
    }
