"""Reason codes: which columns are chosen, in which order, and how they are worded (the catalogue's wording,
applied to the model matrix's values, one-hot columns included)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureConfig, catalogue
from models.reasons import ColumnTexts, column_wordings, reason_codes, reason_table
from models.space import FeatureSpace

CATALOGUE = {f.name: f for f in catalogue(FeatureConfig())}
SPACE = FeatureSpace(numeric=("contacts_30d", "open_cases", "sentiment_trend", "tenure_days"),
                     categories={"nps_last_class": ("detractor",)})
VALUES = pd.DataFrame({
    "contacts_30d": [4.0, 0.0, 1.0],
    "open_cases": [2.0, 1.0, 0.0],
    "sentiment_trend": [-0.3, np.nan, 0.2],
    "tenure_days": [40.0, 400.0, 1.0],
    "nps_last_class": ["detractor", None, "promoter"],
})
MATRIX = SPACE.matrix(VALUES)
WORDINGS = column_wordings(SPACE, CATALOGUE)


def describe(name: str, value: object) -> str:
    """How the reasons word `value` of the column `name` (`feature=level` for a one-hot column; then `value`
    is the customer's category, or the matrix's 0/1)."""
    base, _, level = name.partition("=")
    if level:
        space = FeatureSpace(numeric=(), categories={base: (level,)})
        indicator = float(value) if isinstance(value, float | int) else float(value == level)
        return column_wordings(space, CATALOGUE)[0](0.0 if np.isnan(indicator) else indicator)
    space = FeatureSpace(numeric=(base,), categories={})
    number = np.nan if value is None or value is pd.NA else float(value)  # type: ignore[arg-type]
    return column_wordings(space, CATALOGUE)[0](number)


@pytest.mark.parametrize(("feature", "value", "text"), [
    ("repeat_contacts_30d", 3, "3 repeat contacts about the same case in 30 days"),
    ("repeat_contacts_90d", 1, "1 repeat contact about the same case in 90 days"),
    ("contacts_30d", 4, "4 service contacts in 30 days"),
    ("contacts_365d", 0, "no service contacts in 365 days"),
    ("cases_90d", 2, "2 service cases in 90 days"),
    ("contacts_per_case_30d", 2.5, "2.5 contacts per case in 30 days"),
    ("many_contact_case_share_90d", 0.5, "50% of cases needed 3+ contacts in 90 days"),
    ("open_cases", 2, "2 unresolved cases"),
    ("open_cases", 1.0, "1 unresolved case"),
    ("oldest_open_case_days", 45, "a case open for 45 days"),
    ("sentiment_trend", -0.2, "sentiment falling"),
    ("sentiment_trend", 0.1, "sentiment rising"),
    ("sentiment_last", -0.6, "angry or negative last message"),
    ("sentiment_last", 0.0, "neutral last message"),
    ("sentiment_min_30d", -0.4, "angry or negative message in 30 days"),
    ("sentiment_mean_90d", -0.3, "mostly negative messages in 90 days"),
    ("negative_share_90d", 0.6, "60% of messages negative in 90 days"),
    ("first_contact_resolution_rate_90d", 0.2, "only 20% of the cases solved on first contact in 90 days"),
    ("first_contact_resolution_rate_30d", 0.75, "75% of the cases solved on first contact in 30 days"),
    ("first_contact_resolution_rate_30d", 0.0, "none of the cases solved on first contact in 30 days"),
    ("low_effort_share_90d", 0.004, "none of the effort scores easy in 90 days"),
    ("reopen_rate_90d", 0.4, "40% of resolved cases reopened in 90 days"),
    ("median_hours_to_resolve_30d", 30.4, "cases took 30 hours to resolve (median) in 30 days"),
    ("median_hours_to_resolve_90d", 0.2, "cases took under an hour to resolve (median) in 90 days"),
    ("median_hours_to_resolve_365d", 120, "cases took 5 days to resolve (median) in 365 days"),
    ("ces_mean_90d", 2.0, "high effort reported (CES 2.0) in 90 days"),
    ("ces_last", 2, "high effort reported (CES 2.0)"),
    ("ces_last", 6, "effort reported as easy (CES 6.0)"),
    ("low_effort_share_30d", 0.25, "only 25% of the effort scores easy in 30 days"),
    ("handle_seconds_mean_30d", 600, "10 min average handling per contact in 30 days"),
    ("handle_seconds_mean_90d", 45, "under a minute average handling per contact in 90 days"),
    ("csat_top2_share_90d", 0.2, "low satisfaction (CSAT): only 20% satisfied in 90 days"),
    ("csat_top2_share_365d", 0.9, "90% satisfied (CSAT) in 365 days"),
    ("nps_last_class=detractor", "detractor", "NPS detractor"),
    ("transfers_30d", 5, "5 transfers between agents in 30 days"),
    ("channel_switches_30d", 2, "had to switch channels 2 times in 30 days"),
    ("channel_switches_90d", 1, "had to switch channels once in 90 days"),
    ("days_since_last_contact", 3, "last service contact 3 days ago"),
    ("days_since_last_purchase", 120, "no purchase for 120 days"),
    ("days_since_last_purchase", 0, "bought within the last day"),
    ("frequency", 1, "few repeat purchases (1)"),
    ("frequency", 0, "no repeat purchases"),
    ("frequency", 12, "12 repeat purchases"),
    ("recency", 30, "last repeat purchase 30 days after the first"),
    ("T", 300, "first purchase 300 days ago"),
    ("monetary_value", 12.5, "average repeat spend 12.50"),
    ("purchases_90d", 0, "no purchases in 90 days"),
    ("spend_90d", 0.0, "nothing spent in 90 days"),
    ("spend_30d", 12.345, "spent 12.35 in 30 days"),
    ("tenure_days", 40, "customer for 40 days"),
    ("tenure_days", 1, "customer for 1 day"),
    ("handle_time_p95", 7.0, "handle_time_p95 = 7"),
    ("handle_time_p95", 0.12345, "handle_time_p95 = 0.123"),
])
def test_templates_word_the_value(feature: str, value: object, text: str) -> None:
    assert describe(feature, value) == text


@pytest.mark.parametrize(("feature", "text"), [
    ("first_contact_resolution_rate_90d", "no service case opened in 90 days"),
    ("contacts_per_case_30d", "no service contact in 30 days"),
    ("reopen_rate_30d", "no case resolved in 30 days"),
    ("ces_mean_90d", "no effort score answer in 90 days"),
    ("ces_last", "no effort score answer on record"),
    ("csat_top2_share_30d", "no CSAT answer in 30 days"),
    ("sentiment_last", "no customer message on record"),
    ("sentiment_trend", "too few messages to see a trend in tone"),
    ("days_since_last_contact", "no service contact on record"),
    ("days_since_last_purchase", "no purchase on record"),
    ("oldest_open_case_days", "no open case"),
])
@pytest.mark.parametrize("missing", [np.nan, None, pd.NA, np.float32("nan")])
def test_missing_values_have_words_of_their_own(feature: str, text: str, missing: object) -> None:
    assert describe(feature, missing) == text


def test_nan_never_leaks_from_any_template() -> None:
    names = ["repeat_contacts_30d", "contacts_90d", "cases_365d", "transfers_30d", "open_cases", "frequency",
             "recency", "T", "monetary_value", "spend_90d", "purchases_30d", "tenure_days", "mystery",
             "negative_share_30d", "sentiment_min_365d", "many_contact_case_share_90d"]
    for name in names:
        assert "nan" not in describe(name, np.nan).lower(), name


def test_one_hot_columns_are_worded_as_their_feature() -> None:
    assert describe("nps_last_class=detractor", "detractor") == "NPS detractor"
    assert describe("nps_last_class=detractor", 1.0) == "NPS detractor"  # model-matrix indicator
    assert describe("nps_last_class=promoter", 0.0) == "not an NPS promoter"
    assert describe("nps_last_class=promoter", "passive") == "not an NPS promoter"
    assert describe("segment=basic", "basic") == "segment basic"
    assert describe("segment=basic", "premium") == "segment is not basic"


@pytest.mark.parametrize("segment", ["Gold [legacy]", "<18", 'say "hi"', "VIP \U0001f451", "x" * 500])
def test_any_segment_the_contract_allows_is_worded_as_written(segment: str) -> None:
    assert describe(f"segment={segment}", segment) == f"segment {segment}"
    assert describe(f"segment={segment}", "other") == f"segment is not {segment}"


def test_a_feature_the_catalogue_lacks_is_worded_generically() -> None:
    assert describe("handle_time_p95", 7.0) == "handle_time_p95 = 7"
    assert describe("handle_time_p95", 0.12345) == "handle_time_p95 = 0.123"
    assert describe("handle_time_p95", np.nan) == "handle_time_p95 not recorded"


def test_top_reasons_follow_contributions_and_skip_negatives() -> None:
    contributions = np.array([
        [0.1, 0.9, 0.5, -2.0, 0.3],  # order: open_cases, sentiment_trend, nps; tenure pushes down
        [-0.1, 0.2, 0.4, 0.0, -0.3],  # only two push up; zero is not a reason
        [-1.0, -0.2, -0.4, -0.1, -0.3],  # nothing pushes up
    ])
    assert reason_codes(contributions, MATRIX, WORDINGS) == [
        ["2 unresolved cases", "sentiment falling", "NPS detractor"],
        ["too few messages to see a trend in tone", "1 unresolved case"],
        [],
    ]


def test_reason_table_columns_hold_the_lists_padded_with_none() -> None:
    contributions = np.array([
        [0.1, 0.9, 0.5, -2.0, 0.3],
        [-0.1, 0.2, 0.4, 0.0, -0.3],
        [-1.0, -0.2, -0.4, -0.1, -0.3],
    ])
    table = reason_table(contributions, MATRIX, WORDINGS)
    lists = table.lists()
    assert lists == reason_codes(contributions, MATRIX, WORDINGS) == list(table)
    for k in range(4):  # a column past `top` is all None
        assert table.column(k).tolist() == [row[k] if k < len(row) else None for row in lists]
    assert reason_table(contributions, MATRIX, WORDINGS, top=0).column(0).tolist() == [None, None, None]


def test_top_is_respected_and_ties_keep_feature_order() -> None:
    contributions = np.array([[0.5, 0.5, 0.5, 0.5, 0.5]])
    assert reason_codes(contributions, MATRIX[:1], WORDINGS, top=2) == [
        ["4 service contacts in 30 days", "2 unresolved cases"]]
    assert reason_codes(contributions, MATRIX[:1], WORDINGS, top=0) == [[]]


def test_repeated_wording_is_given_once() -> None:
    names = ("reopen_rate_30d", "reopen_rate_90d", "contacts_per_case_30d", "handle_seconds_mean_30d",
             "tenure_days")
    space = FeatureSpace(numeric=names, categories={})
    matrix = np.array([[np.nan, np.nan, np.nan, np.nan, 40.0]])
    wordings = column_wordings(space, CATALOGUE)
    contributions = np.array([[0.5, 0.4, 0.3, 0.2, 0.1]])
    assert reason_codes(contributions, matrix, wordings) == [[
        "no case resolved in 30 days", "no case resolved in 90 days", "no service contact in 30 days"]]
    contributions = np.array([[0.5, 0.1, 0.4, 0.3, 0.2]])  # the two "no service contact" are adjacent
    assert reason_codes(contributions, matrix, wordings) == [[
        "no case resolved in 30 days", "no service contact in 30 days", "customer for 40 days"]]


def test_random_rows_keep_only_positive_features_in_descending_order() -> None:
    rng = np.random.default_rng(9)
    names = tuple(f"feature_{i}" for i in range(12))  # not in the catalogue: worded "feature_3 = 4242"
    matrix = rng.integers(0, 10_000, (200, 12)).astype(float)  # unique-ish, so texts differ
    contributions = rng.normal(0, 1, (200, 12))
    contributions[rng.uniform(size=contributions.shape) < 0.1] = np.nan
    wordings = column_wordings(FeatureSpace(numeric=names, categories={}), CATALOGUE)
    for row, reasons in enumerate(reason_codes(contributions, matrix, wordings)):
        expected = [j for j in np.argsort(-np.nan_to_num(contributions[row], nan=-1.0), kind="stable")
                    if contributions[row, j] > 0][:3]
        assert reasons == [f"feature_{j} = {int(matrix[row, j])}" for j in expected]


def test_inputs_are_checked() -> None:
    contributions = np.zeros(MATRIX.shape)
    with pytest.raises(ValueError, match="bias column"):
        reason_codes(np.zeros((3, MATRIX.shape[1] + 1)), MATRIX, WORDINGS)
    with pytest.raises(ValueError, match="matrix has shape"):
        reason_codes(contributions, MATRIX[:2], WORDINGS)
    with pytest.raises(ValueError, match="top must be"):
        reason_codes(contributions, MATRIX, WORDINGS, top=-1)


def test_kept_texts_are_the_texts_the_wording_makes() -> None:
    """A scorer's `ColumnTexts` keeps texts between calls; what it gives must not depend on what it kept
    (NaN, and 0.0 next to -0.0, which a percentage words differently), nor on being emptied when full."""
    names = ("sentiment_trend", "many_contact_case_share_30d", "contacts_30d", "tenure_days")
    space = FeatureSpace(numeric=names, categories={})
    wordings = column_wordings(space, CATALOGUE)
    rng = np.random.default_rng(4)
    matrix = rng.choice([np.nan, 0.0, -0.0, 1.0, 0.25, 3.0, 40.0], size=(300, len(names)))
    contributions = rng.normal(0, 1, matrix.shape)
    expected = [[wordings[j](matrix[i, j]) for j in range(len(names))] for i in range(len(matrix))]
    for kept in (ColumnTexts(wordings), ColumnTexts(wordings, limit=3)):
        for _ in range(2):  # the second pass reads kept texts
            assert [[kept.text(j, matrix[i, j]) for j in range(len(names))] for i in range(len(matrix))] == expected
            assert reason_codes(contributions, matrix, kept) == reason_codes(contributions, matrix, wordings)
