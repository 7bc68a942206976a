"""The catalogue entries carry every fact of their feature: window, unit, range, direction, actionable, wording."""

from __future__ import annotations

import math

import pytest

from features import effort, sentiment, wording
from features.build import FeatureConfig, catalogue
from features.catalogue import Feature, markdown

CONFIG = FeatureConfig(windows=(7, 30, 90))
ENTRIES = catalogue(CONFIG)
WEEKS = {f.name: f for f in catalogue(FeatureConfig(unit="W"))}
ACTIONABLE_STEMS = {  # what a retention team can change through the service it gives
    "contacts_per_case", "repeat_contacts", "transfers", "transfers_per_contact", "channel_switches",
    "many_contact_case_share",
    "ces_mean", "low_effort_share", "ces_last", "handle_seconds_mean", "first_contact_resolution_rate",
    "reopen_rate", "median_hours_to_resolve", "open_cases", "oldest_open_case_days", "sentiment_last",
}


def _stem(feature: Feature) -> str:
    return feature.name.removesuffix(f"_{feature.window}d") if feature.window else feature.name


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_entry_words_its_values(entry: Feature) -> None:
    assert entry.reason is not None
    missing = wording.describe(entry, None)
    assert missing and "nan" not in missing and "{" not in missing
    value = (entry.values or ("plus",))[0] if entry.kind == "category" else 1.0
    text = wording.describe(entry, value)
    assert text and "=" not in text and "_" not in text and "nan" not in text  # not the generic "name = value"
    if entry.window is not None:
        assert text.endswith(f" in {entry.window} days")
        if "{window}" in entry.reason.missing:
            assert missing.endswith(f" in {entry.window} days")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_windowed_entries_know_their_window(entry: Feature) -> None:
    stems = {_stem(f) for f in ENTRIES if f.window is not None}
    if entry.window is not None:
        assert entry.window in CONFIG.windows and entry.name.endswith(f"_{entry.window}d")
        assert {f.window for f in ENTRIES if _stem(f) == _stem(entry)} == set(CONFIG.windows)
    else:
        assert entry.name not in stems
        assert not any(entry.name == f"{stem}_{w}d" for stem in stems for w in CONFIG.windows)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_units_ranges_and_values(entry: Feature) -> None:
    if entry.kind == "category":
        assert entry.dtype == "string" and entry.low is None and entry.high is None
        with pytest.raises(ValueError, match="category"):
            _ = entry.valid_range
        return
    assert entry.unit, entry.name
    low, high = entry.valid_range
    assert low < high and math.isfinite(low) and math.isfinite(high)
    if entry.unit == "share":
        assert (low, high) == (0, 1)


def test_rfm_periods_are_worded_in_the_unit_they_are_counted_in() -> None:
    assert wording.describe(WEEKS["T"], 3) == "first purchase 3 weeks ago"
    assert wording.describe(WEEKS["T"], 1.0) == "first purchase 1 week ago"
    assert wording.describe(WEEKS["recency"], 2) == "last repeat purchase 2 weeks after the first"
    assert wording.describe(WEEKS["recency"], 0) == "no purchase after the first"
    assert WEEKS["T"].unit == WEEKS["recency"].unit == "weeks"
    days = {f.name: f for f in ENTRIES}
    assert wording.describe(days["T"], 3) == "first purchase 3 days ago"
    assert wording.describe(days["recency"], 1) == "last repeat purchase 1 day after the first"


def test_actionable_entries() -> None:
    assert {_stem(f) for f in ENTRIES if f.actionable} == ACTIONABLE_STEMS
    assert all(f.is_service for f in ENTRIES if f.actionable)


def test_monotone_directions_say_worse_tone_never_lowers_churn() -> None:
    directed = {f.name: f.direction for f in ENTRIES if f.direction}
    assert directed == {
        **{f"{stem}_{w}d": -1 for stem in ("sentiment_mean", "sentiment_min") for w in CONFIG.windows},
        **{f"negative_share_{w}d": 1 for w in CONFIG.windows},
        "sentiment_last": -1, "sentiment_trend": -1,
    }


def test_integer_columns_are_counts_and_transfers() -> None:
    assert {_stem(f) for f in ENTRIES if f.dtype == "int64"} == {
        "purchases", "contacts", "cases", "repeat_contacts", "transfers", "channel_switches", "open_cases"}
    assert all(f.zero_when_absent for f in ENTRIES if f.dtype == "int64")  # never missing: no NaN in an int


def test_categories_and_one_hot_levels() -> None:
    nps = next(f for f in ENTRIES if f.name == "nps_last_class")
    assert nps.values == ("promoter", "passive", "detractor")
    assert wording.describe(nps, "detractor") == "NPS detractor"
    assert wording.other_level(nps, "promoter") == "not an NPS promoter"
    segment = next(f for f in ENTRIES if f.name == "segment")
    assert wording.describe(segment, "plus") == "segment plus"
    assert wording.other_level(segment, "plus") == "segment is not plus"


def test_wording_thresholds_are_the_features_own() -> None:
    assert wording.EASY_CES == effort.LOW_EFFORT_MIN_CES
    assert wording.MANY_CONTACTS == effort.MANY_CONTACTS
    assert (wording.NEGATIVE_TONE, wording.POSITIVE_TONE) == (sentiment.NEGATIVE_AT, sentiment.POSITIVE_AT)


def test_catalogues_built_twice_are_equal() -> None:
    """Render functions are module-level, so entries compare equal across calls (a lambda would not)."""
    assert catalogue(CONFIG) == ENTRIES
    assert markdown(catalogue(CONFIG)) == markdown(ENTRIES)


def test_a_negative_zero_share_reads_as_zero() -> None:
    entry = {f.name: f for f in catalogue(FeatureConfig())}["negative_share_30d"]
    assert wording.describe(entry, -0.0) == wording.describe(entry, 0.0)
    assert "-" not in wording.pct(-0.0)


def test_an_open_case_opened_on_the_cutoff_day_is_not_open_for_0_days() -> None:
    entry = {f.name: f for f in catalogue(FeatureConfig())}["oldest_open_case_days"]
    assert wording.describe(entry, 0.0) == "a case opened within the last day, still open"
    assert wording.describe(entry, 3.0) == "a case open for 3 days"
