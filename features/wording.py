"""How feature values read as reasons for a retention agent: the text helpers and one render function per
feature stem, which the family modules attach to their catalogue entries (`Feature.reason`).

A render function gets the customer's raw value (a float, or the text of a category) and the window phrase
(" in 30 days", or "" for a feature without a window), so "3 repeat contacts about the same case in 30 days"
tells an agent more than "repeat_contacts_30d". A missing value has a phrase of its own (the `NO_*` texts,
"{window}" filled in by `describe`), never "nan": a missing service rate means there was nothing to measure,
which is itself a reason. Pure text, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from features.catalogue import Feature

NEGATIVE_TONE = -0.05  # VADER's usual cut, the one negative_share_* counts with (features.sentiment.NEGATIVE_AT)
POSITIVE_TONE = 0.05  # features.sentiment.POSITIVE_AT
EASY_CES = 5.0  # CES answers 5-7 are low effort, as in low_effort_share_* (features.effort.LOW_EFFORT_MIN_CES)
MANY_CONTACTS = 3  # features.effort.MANY_CONTACTS, as many_contact_case_share_* counts
LOW_SHARE = 0.5  # a "good" share (first-contact resolution, CSAT top-2, easy CES) below this reads "only"
FEW_REPEATS = 2

NO_CONTACT = "no service contact{window}"
NO_PURCHASE = "no purchase on record"
NO_MESSAGE = "no customer message{window}"
NO_CES = "no effort score answer{window}"
NO_CASE_OPENED = "no service case opened{window}"
NO_CASE_RESOLVED = "no case resolved{window}"
NO_CSAT = "no CSAT answer{window}"


# --- text helpers --------------------------------------------------------------------------------------------

def count(value: float, noun: str) -> str:
    n = round(value)
    return f"no {noun}s" if n == 0 else f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def days(value: float) -> str:
    n = round(value)
    return "1 day" if n == 1 else f"{n} days"


def weeks(value: float) -> str:
    n = round(value)
    return "1 week" if n == 1 else f"{n} weeks"


def hours(value: float) -> str:
    if value < 1:
        return "under an hour"
    if value < 48:
        return "1 hour" if round(value) == 1 else f"{round(value)} hours"
    return days(value / 24)


def minutes(seconds: float) -> str:
    return "under a minute" if seconds < 60 else f"{round(seconds / 60)} min"


def pct(value: float) -> str:
    """A share as a whole percentage; -0.0 (a client may send it, arithmetic may make it) reads as 0%."""
    return f"{value + 0.0:.0%}"


def only(value: float) -> str:
    """A share worded so a low one reads as low; a share that rounds to 0% reads as none."""
    if round(value * 100) == 0:
        return "none"
    return f"only {pct(value)}" if value < LOW_SHARE else pct(value)


def tone(value: float) -> str:
    return "negative" if value <= NEGATIVE_TONE else "positive" if value >= POSITIVE_TONE else "neutral"


# --- render functions, one per feature stem (value, window phrase) -> text -----------------------------------
# rfm

def frequency(v: float, _: str) -> str:
    n = round(v)
    if n == 0:
        return "no repeat purchases"
    return f"few repeat purchases ({n})" if n <= FEW_REPEATS else f"{n} repeat purchases"


def recency_days(v: float, _: str) -> str:
    return f"last repeat purchase {days(v)} after the first" if round(v) > 0 else "no purchase after the first"


def recency_weeks(v: float, _: str) -> str:
    return f"last repeat purchase {weeks(v)} after the first" if round(v) > 0 else "no purchase after the first"


def age_days(v: float, _: str) -> str:
    return f"first purchase {days(v)} ago"


def age_weeks(v: float, _: str) -> str:
    return f"first purchase {weeks(v)} ago"


def monetary_value(v: float, _: str) -> str:
    return f"average repeat spend {v:.2f}" if v > 0 else "no repeat spend"


def since_purchase(v: float, _: str) -> str:
    return f"no purchase for {days(v)}" if round(v) > 0 else "bought within the last day"


def purchases(v: float, w: str) -> str:
    return f"{count(v, 'purchase')}{w}"


def spend(v: float, w: str) -> str:
    return f"spent {v:.2f}{w}" if v > 0 else f"nothing spent{w}"


# effort

def contacts(v: float, w: str) -> str:
    return f"{count(v, 'service contact')}{w}"


def cases(v: float, w: str) -> str:
    return f"{count(v, 'service case')}{w}"


def contacts_per_case(v: float, w: str) -> str:
    return f"{v:.1f} contacts per case{w}"


def repeat_contacts(v: float, w: str) -> str:
    return f"{count(v, 'repeat contact')} about the same case{w}"


def transfers(v: float, w: str) -> str:
    return f"{count(v, 'transfer')} between agents{w}"


def transfers_per_contact(v: float, w: str) -> str:
    return f"{v:.1f} transfers per contact{w}"


def channel_switches(v: float, w: str) -> str:
    n = round(v)
    times = "once" if n == 1 else f"{n} times"
    return f"no channel switches{w}" if n == 0 else f"had to switch channels {times}{w}"


def many_contact_case_share(v: float, w: str) -> str:
    return f"{pct(v)} of cases needed {MANY_CONTACTS}+ contacts{w}"


def ces(v: float, w: str) -> str:
    effort = "high effort reported" if v < EASY_CES else "effort reported as easy"
    return f"{effort} (CES {v:.1f}){w}"


def low_effort_share(v: float, w: str) -> str:
    return f"{only(v)} of the effort scores easy{w}"


def handle_seconds(v: float, w: str) -> str:
    return f"{minutes(v)} average handling per contact{w}"


# resolution

def first_contact_resolution(v: float, w: str) -> str:
    return f"{only(v)} of the cases solved on first contact{w}"


def reopen(v: float, w: str) -> str:
    return f"{pct(v)} of resolved cases reopened{w}" if v > 0 else f"no resolved case reopened{w}"


def hours_to_resolve(v: float, w: str) -> str:
    return f"cases took {hours(v)} to resolve (median){w}"


def open_cases(v: float, _: str) -> str:
    return count(v, "unresolved case")


def oldest_open_case(v: float, _: str) -> str:
    return f"a case open for {days(v)}" if round(v) > 0 else "a case opened within the last day, still open"


# survey and customer

def csat(v: float, w: str) -> str:
    if v < LOW_SHARE:
        return f"low satisfaction (CSAT): {only(v)} satisfied{w}"
    return f"{pct(v)} satisfied (CSAT){w}"


def nps_class(v: str, _: str) -> str:
    return f"NPS {v}"


def since_contact(v: float, _: str) -> str:
    return f"last service contact {days(v)} ago"


def tenure(v: float, _: str) -> str:
    return f"customer for {days(v)}"


def segment(v: str, _: str) -> str:
    return f"segment {v}"


def country(v: str, _: str) -> str:
    return f"in country {v}"


# sentiment

def sentiment_mean(v: float, w: str) -> str:
    return f"mostly {tone(v)} messages{w}"


def sentiment_min(v: float, w: str) -> str:
    return f"angry or negative message{w}" if v <= NEGATIVE_TONE else f"no negative message{w}"


def negative_share(v: float, w: str) -> str:
    return f"{pct(v)} of messages negative{w}"


def sentiment_last(v: float, _: str) -> str:
    return "angry or negative last message" if v <= NEGATIVE_TONE else f"{tone(v)} last message"


def sentiment_trend(v: float, _: str) -> str:
    return "sentiment falling" if v < 0 else "sentiment rising" if v > 0 else "sentiment steady"


RECENCY: dict[str, Callable[[float, str], str]] = {"D": recency_days, "W": recency_weeks}
AGE: dict[str, Callable[[float, str], str]] = {"D": age_days, "W": age_weeks}


# --- one feature value in words --------------------------------------------------------------------------------

def window_phrase(feature: Feature) -> str:
    return f" in {feature.window} days" if feature.window else ""


def is_missing(value: object) -> bool:
    if value is None or isinstance(value, float):
        return value is None or value != value  # the common cases first: None and NaN
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def describe(feature: Feature, value: Any) -> str:
    """`feature`'s value in its own words, e.g. "2 unresolved cases"; a missing value gets its missing text.
    Raises ValueError for a feature without wording, or a value its render cannot read as a number."""
    return describer(feature)(value)


def describer(feature: Feature) -> Callable[[Any], str]:
    """`describe` for one feature, its window phrase and missing text worked out once: reasons word about a
    thousand values per 1,000-row call. Raises ValueError for a feature without wording."""
    reason = feature.reason
    if reason is None:
        raise ValueError(f"{feature.name} has no reason wording")
    window = window_phrase(feature)
    missing = reason.missing.format(window=window or " on record")
    render, numeric = reason.render, reason.numeric

    def words(value: Any) -> str:
        if is_missing(value):
            return missing
        return render(float(value) if numeric else str(value), window)

    return words


def other_level(feature: Feature, level: str) -> str:
    """How a one-hot level of `feature` that the customer does not have reads."""
    if feature.reason is None:
        raise ValueError(f"{feature.name} has no reason wording")
    return feature.reason.other_level.format(feature=feature.name, level=level)
