"""RFM in the `lifetimes` conventions, plus windowed purchase counts and spend.

frequency = repeat purchase periods (periods with a purchase, minus the first), recency = age of the customer
at the last purchase period, T = age at the cutoff, monetary_value = mean spend per repeat period (0 without
repeats); all in an explicit unit, days ("D") or weeks ("W", Monday-based periods). Equal to
`lifetimes.utils.summary_data_from_transaction_data(..., observation_period_end=as_of, freq=unit)` on the
transactions up to `as_of`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import ibis
import ibis.expr.types as ir

from features import wording
from features.aggregates import exact_sum
from features.catalogue import Feature, Wording, windowed
from features.cutoff import Cutoff

TimeUnit = Literal["D", "W"]
DAYS_PER_UNIT = {"D": 1, "W": 7}
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")  # what the CLV model reads, in this order


def catalogue(windows: Sequence[int], unit: TimeUnit = "D") -> list[Feature]:
    period = "days" if unit == "D" else "weeks"
    purchase = {"reason": Wording(render=wording.purchases, missing=wording.NO_PURCHASE), "unit": "purchases"}
    spent = {"reason": Wording(render=wording.spend, missing=wording.NO_PURCHASE), "unit": "currency"}
    return [
        Feature(name="frequency", family="rfm", kind="period", unit=f"repeat purchase {period}",
                definition=f"Repeat purchase {period}: {period} with a purchase, minus the first (lifetimes).",
                reason=Wording(render=wording.frequency, missing=wording.NO_PURCHASE)),
        Feature(name="recency", family="rfm", kind="period", unit=period,
                definition=f"Age in {period} at the last purchase period (lifetimes).",
                reason=Wording(render=wording.RECENCY[unit], missing=wording.NO_PURCHASE)),
        Feature(name="T", family="rfm", kind="period", unit=period,
                definition=f"Age in {period} from the first purchase period to the cutoff (lifetimes).",
                reason=Wording(render=wording.AGE[unit], missing=wording.NO_PURCHASE)),
        Feature(name="monetary_value", family="rfm", kind="amount", unit="currency",
                definition="Mean spend per repeat purchase period; 0 without repeats (lifetimes).",
                reason=Wording(render=wording.monetary_value, missing=wording.NO_PURCHASE)),
        Feature(name="days_since_last_purchase", family="rfm", kind="days", unit="days",
                definition="Days from the last purchase to the cutoff.",
                reason=Wording(render=wording.since_purchase, missing=wording.NO_PURCHASE)),
        *windowed("rfm", "count", "purchases", "Purchases in the last {w} days.", windows, **purchase),
        *windowed("rfm", "total", "spend", "Total spend in the last {w} days.", windows, **spent),
    ]


def period_start(day: dt.date, unit: TimeUnit) -> dt.date:
    """The first day of the purchase period holding `day` (weeks start on Monday)."""
    return day - dt.timedelta(days=day.weekday()) if unit == "W" else day


def period_spend(transactions: ir.Table, unit: TimeUnit) -> ir.Table:
    """One row per customer and purchase period with a purchase (customer_id, period = its first day, spend =
    the period's summed spend): several purchases in one period are one purchase period (lifetimes)."""
    return transactions.group_by(
        customer_id=transactions.customer_id, period=transactions.timestamp.truncate(unit).date()
    ).aggregate(spend=exact_sum(transactions.amount))


def rfm_features(transactions: ir.Table, cutoff: Cutoff, windows: Sequence[int],
                 unit: TimeUnit = "D") -> ir.Table:
    """One row per customer with a purchase at or before the cutoff."""
    known = transactions.filter(cutoff.known(transactions.timestamp))
    periods = period_spend(known, unit)
    # Repeat spend is all spend minus the first period's (arg_min: the earliest period row's spend): two plain
    # group-bys instead of a window over every period (RFM at 1M customers: 1.1 s instead of 1.5-2.5 s).
    summary = periods.group_by("customer_id").aggregate(
        n_periods=periods.count(),
        first_period=periods.period.min(),
        last_period=periods.period.max(),
        repeat_spend=exact_sum(periods.spend) - periods.spend.argmin(periods.period),
    )
    cutoff_period = ibis.date(period_start(cutoff.as_of, unit))
    per_unit = DAYS_PER_UNIT[unit]
    rfm = summary.select(
        "customer_id",
        frequency=(summary.n_periods - 1).cast("float64"),
        recency=summary.last_period.delta(summary.first_period, unit="day").cast("float64") / per_unit,
        T=cutoff_period.delta(summary.first_period, unit="day").cast("float64") / per_unit,
        monetary_value=ibis.ifelse(summary.n_periods > 1,
                                   summary.repeat_spend / (summary.n_periods - 1).cast("float64"), 0.0),
    )
    windows_agg = known.group_by("customer_id").aggregate(
        days_since_last_purchase=cutoff.days_since(known.timestamp.max()),
        **{f"purchases_{w}d": known.count(where=cutoff.within(known.timestamp, w)) for w in windows},
        **{f"spend_{w}d": exact_sum(known.amount, cutoff.within(known.timestamp, w)).coalesce(0.0)
           for w in windows},
    )
    return rfm.join(windows_agg, "customer_id")
