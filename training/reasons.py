"""Reason codes: the few features that push a customer's churn score up most, worded for a retention agent.

The contributions are XGBoost's exact tree SHAP values (`pred_contribs`, without the bias column), so a
positive value is a feature that raises this customer's churn log-odds above the average customer's.
Wording comes from `REASON_TEMPLATES`, matched on the feature name, and uses the customer's own raw value
("3 repeat contacts about the same case in 30 days" tells an agent more than "repeat_contacts_30d").
A missing value gets a phrase of its own ("no service contact in 30 days"), never "nan": a missing service
rate means there was nothing to measure, which is itself a reason.

RFM periods (frequency, recency, T) are worded in days, the feature pipeline's default unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REASON_TEMPLATES", "ReasonTemplate", "describe", "reason_codes"]

NEGATIVE_TONE = -0.05  # VADER's usual cut, the one negative_share_* counts with
POSITIVE_TONE = 0.05
EASY_CES = 5.0  # CES answers 5-7 are low effort, as in low_effort_share_*
LOW_SHARE = 0.5  # a "good" share (first-contact resolution, CSAT top-2, easy CES) below this reads "only"
FEW_REPEATS = 2


@dataclass(frozen=True)
class ReasonTemplate:
    """How to word one family of features.

    `pattern` must match the whole feature name (for a one-hot name "base=level", the base); its optional
    group `w` is a window in days. `render(value, window)` gets the value (a float unless `numeric` is
    False) and the window phrase (" in 30 days", or "" without a window). `missing` words a missing value;
    its "{window}" becomes the window phrase or " on record".
    """

    pattern: re.Pattern[str]
    render: Callable[[Any, str], str]
    missing: str
    numeric: bool = True


def _t(stem: str, render: Callable[[Any, str], str], missing: str, numeric: bool = True,
       windowed: bool = True) -> ReasonTemplate:
    pattern = rf"{stem}(?:_(?P<w>\d+)d)?" if windowed else stem
    return ReasonTemplate(re.compile(pattern), render, missing, numeric)


def _count(value: float, noun: str) -> str:
    n = round(value)
    return f"no {noun}s" if n == 0 else f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _days(value: float) -> str:
    n = round(value)
    return "1 day" if n == 1 else f"{n} days"


def _hours(value: float) -> str:
    if value < 1:
        return "under an hour"
    if value < 48:
        return "1 hour" if round(value) == 1 else f"{round(value)} hours"
    return _days(value / 24)


def _minutes(seconds: float) -> str:
    return "under a minute" if seconds < 60 else f"{round(seconds / 60)} min"


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _only(value: float) -> str:
    """A share worded so a low one reads as low; a share that rounds to 0% reads as none."""
    if round(value * 100) == 0:
        return "none"
    return f"only {_pct(value)}" if value < LOW_SHARE else _pct(value)


def _tone(value: float) -> str:
    return "negative" if value <= NEGATIVE_TONE else "positive" if value >= POSITIVE_TONE else "neutral"


def _channel_switches(v: float, w: str) -> str:
    n = round(v)
    times = "once" if n == 1 else f"{n} times"
    return f"no channel switches{w}" if n == 0 else f"had to switch channels {times}{w}"


def _ces(v: float, w: str) -> str:
    effort = "high effort reported" if v < EASY_CES else "effort reported as easy"
    return f"{effort} (CES {v:.1f}){w}"


def _csat(v: float, w: str) -> str:
    if v < LOW_SHARE:
        return f"low satisfaction (CSAT): {_only(v)} satisfied{w}"
    return f"{_pct(v)} satisfied (CSAT){w}"


def _reopen(v: float, w: str) -> str:
    return f"{_pct(v)} of resolved cases reopened{w}" if v > 0 else f"no resolved case reopened{w}"


def _sentiment_last(v: float, _: str) -> str:
    return "angry or negative last message" if v <= NEGATIVE_TONE else f"{_tone(v)} last message"


def _sentiment_min(v: float, w: str) -> str:
    return f"angry or negative message{w}" if v <= NEGATIVE_TONE else f"no negative message{w}"


def _sentiment_trend(v: float, _: str) -> str:
    return "sentiment falling" if v < 0 else "sentiment rising" if v > 0 else "sentiment steady"


def _frequency(v: float, _: str) -> str:
    n = round(v)
    if n == 0:
        return "no repeat purchases"
    return f"few repeat purchases ({n})" if n <= FEW_REPEATS else f"{n} repeat purchases"


def _since_purchase(v: float, _: str) -> str:
    return f"no purchase for {_days(v)}" if round(v) > 0 else "bought within the last day"


NO_CONTACT = "no service contact{window}"
NO_PURCHASE = "no purchase on record"
NO_MESSAGE = "no customer message{window}"
NO_CES = "no effort score answer{window}"

REASON_TEMPLATES: tuple[ReasonTemplate, ...] = (
    _t("repeat_contacts", lambda v, w: f"{_count(v, 'repeat contact')} about the same case{w}", NO_CONTACT),
    _t("contacts", lambda v, w: f"{_count(v, 'service contact')}{w}", NO_CONTACT),
    _t("cases", lambda v, w: f"{_count(v, 'service case')}{w}", NO_CONTACT),
    _t("contacts_per_case", lambda v, w: f"{v:.1f} contacts per case{w}", NO_CONTACT),
    _t("many_contact_case_share", lambda v, w: f"{_pct(v)} of cases needed 3+ contacts{w}", NO_CONTACT),
    _t("transfers", lambda v, w: f"{_count(v, 'transfer')} between agents{w}", NO_CONTACT),
    _t("channel_switches", _channel_switches, NO_CONTACT),
    _t("ces_mean", _ces, NO_CES),
    _t("ces_last", _ces, NO_CES, windowed=False),
    _t("low_effort_share", lambda v, w: f"{_only(v)} of the effort scores easy{w}", NO_CES),
    _t("handle_seconds_mean", lambda v, w: f"{_minutes(v)} average handling per contact{w}", NO_CONTACT),
    _t("first_contact_resolution_rate", lambda v, w: f"{_only(v)} of the cases solved on first contact{w}",
       "no service case opened{window}"),
    _t("reopen_rate", _reopen, "no case resolved{window}"),
    _t("median_hours_to_resolve", lambda v, w: f"cases took {_hours(v)} to resolve (median){w}",
       "no case resolved{window}"),
    _t("open_cases", lambda v, _: _count(v, "unresolved case"), "no unresolved cases", windowed=False),
    _t("oldest_open_case_days", lambda v, _: f"a case open for {_days(v)}", "no open case", windowed=False),
    _t("csat_top2_share", _csat, "no CSAT answer{window}"),
    _t("nps_last_class", lambda v, _: f"NPS {v}", "no NPS answer on record", numeric=False, windowed=False),
    _t("days_since_last_contact", lambda v, _: f"last service contact {_days(v)} ago", NO_CONTACT,
       windowed=False),
    _t("sentiment_trend", _sentiment_trend, "too few messages to see a trend in tone", windowed=False),
    _t("sentiment_last", _sentiment_last, NO_MESSAGE, windowed=False),
    _t("sentiment_min", _sentiment_min, NO_MESSAGE),
    _t("sentiment_mean", lambda v, w: f"mostly {_tone(v)} messages{w}", NO_MESSAGE),
    _t("negative_share", lambda v, w: f"{_pct(v)} of messages negative{w}", NO_MESSAGE),
    _t("days_since_last_purchase", _since_purchase, NO_PURCHASE, windowed=False),
    _t("frequency", _frequency, NO_PURCHASE, windowed=False),
    _t("recency", lambda v, _: f"last repeat purchase {_days(v)} after the first" if round(v) > 0
       else "no purchase after the first", NO_PURCHASE, windowed=False),
    _t("T", lambda v, _: f"first purchase {_days(v)} ago", NO_PURCHASE, windowed=False),
    _t("monetary_value", lambda v, _: f"average repeat spend {v:.2f}" if v > 0 else "no repeat spend",
       NO_PURCHASE, windowed=False),
    _t("purchases", lambda v, w: f"{_count(v, 'purchase')}{w}", NO_PURCHASE),
    _t("spend", lambda v, w: f"spent {v:.2f}{w}" if v > 0 else f"nothing spent{w}", NO_PURCHASE),
    _t("tenure_days", lambda v, _: f"customer for {_days(v)}", "sign-up date unknown", windowed=False),
)

OTHER_LEVEL = {"nps_last_class": "not an NPS {level}"}  # one-hot level the customer does not have


@lru_cache(maxsize=4096)
def _template(feature: str) -> tuple[ReasonTemplate | None, str]:
    """The first template matching the name and its window phrase; cached, a model has few features."""
    for template in REASON_TEMPLATES:
        match = template.pattern.fullmatch(feature)
        if match:
            window = match.groupdict().get("w")
            return template, f" in {window} days" if window else ""
    return None, ""


def _is_missing(value: object) -> bool:
    if value is None or isinstance(value, float):
        return value is None or value != value  # the common cases first: None and NaN
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _plain(value: object) -> str:
    """A value for the generic "feature = value" wording: whole numbers without decimals."""
    if isinstance(value, Real) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return f"{number:.2f}" if abs(number) >= 1 else f"{number:.3g}"
    return str(value)


def _value_words(feature: str) -> Callable[[object], str]:
    """The wording of one (non one-hot) feature's values, with its template looked up once."""
    template, window = _template(feature)
    if template is None:
        return lambda value: f"{feature} not recorded" if _is_missing(value) else f"{feature} = {_plain(value)}"
    missing = template.missing.format(window=window or " on record")

    def words(value: object) -> str:
        if _is_missing(value):
            return missing
        try:
            return template.render(float(value) if template.numeric else str(value), window)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return f"{feature} = {_plain(value)}"

    return words


@lru_cache(maxsize=4096)
def describer(feature: str) -> Callable[[object], str]:
    """`describe` for one feature, its name parsed once: what a caller wording many values of it uses."""
    base, sep, level = feature.partition("=")
    if not sep:
        return _value_words(feature)
    base_words = _value_words(base)
    other_level = OTHER_LEVEL.get(base, "{base} is not {level}").format(base=base, level=level)

    def words(value: object) -> str:
        if _is_missing(value):
            return base_words(None)
        has_level = str(value) == level if isinstance(value, str) else bool(float(value))  # type: ignore[arg-type]
        return base_words(level) if has_level else other_level

    return words


def describe(feature: str, value: object) -> str:
    """One feature value in words, e.g. describe("open_cases", 2) == "2 unresolved cases".

    A one-hot name "base=level" is worded as its base feature: `value` may be the raw category (as in the
    feature table) or the 0/1 indicator (as in the model matrix); a customer without that level gets
    "base is not level". Unknown features fall back to "feature = value"; missing values never print "nan".
    """
    return describer(feature)(value)


def _value_columns(values: pd.DataFrame, feature_names: Sequence[str]) -> list[str]:
    """The values column each feature reads: its own name, else the base of a one-hot name."""
    columns: list[str] = []
    absent: list[str] = []
    for name in feature_names:
        column = name if name in values.columns else name.partition("=")[0]
        (columns if column in values.columns else absent).append(column)
    if absent:
        raise ValueError(f"values has no column for features {absent[:10]}")
    return columns


def reason_codes(contributions: np.ndarray, feature_names: Sequence[str], values: pd.DataFrame,
                 top: int = 3) -> list[list[str]]:
    """For each row, up to `top` reasons: the features with positive contribution, largest first (ties in
    feature order), worded by `describe` with the row's value. Rows of `values` align with the rows of
    `contributions` by position. A feature whose wording repeats one already given is skipped (several
    missing service rates all say "no service contact in 30 days"), so a row may get fewer than `top`
    reasons, or none when nothing pushes its score up.

    Vectorised over rows, in rounds: each round words the next `top` candidates of the rows still short of
    `top` distinct texts, each distinct (feature, value) pair once; most rows are done after the first."""
    matrix = np.asarray(contributions, dtype=float)
    names = list(feature_names)
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise ValueError(f"contributions must be (rows, {len(names)} features), got {matrix.shape}; "
                         "drop XGBoost's bias column (the last one of pred_contribs)")
    if len(values) != len(matrix):
        raise ValueError(f"values has {len(values)} rows, contributions {len(matrix)}")
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    wording = _Wording(values, names, _value_columns(values, names))
    pushes_up = matrix > 0  # NaN contributions never count
    n_up = pushes_up.sum(axis=1)
    picked = np.full((len(matrix), top), -1, dtype=np.int64)  # text ids, filled from the left
    count = np.zeros(len(matrix), dtype=np.int64)
    active = np.flatnonzero(n_up > 0) if top else np.empty(0, dtype=np.int64)
    order = np.argsort(np.where(pushes_up, -matrix, np.inf), axis=1, kind="stable") if len(active) else None
    start = 0
    while len(active):
        width = min(top, int(n_up[active].max()) - start)
        valid = start + np.arange(width) < n_up[active][:, None]
        ids = wording.text_ids(active, order[active, start:start + width], valid)  # type: ignore[index]
        for k in range(width):
            candidate = ids[:, k]
            fresh = (candidate >= 0) & (count[active] < top) & ~(picked[active] == candidate[:, None]).any(axis=1)
            rows = active[fresh]
            picked[rows, count[rows]] = candidate[fresh]
            count[rows] += 1
        start += width
        active = active[(count[active] < top) & (n_up[active] > start)]
    flat = np.asarray(wording.texts, dtype=object)[picked[picked >= 0]].tolist()  # row by row, in order
    ends = np.cumsum(count).tolist()
    return [flat[begin:end] for begin, end in zip([0, *ends[:-1]], ends, strict=True)]


class _Wording:
    """Texts of (feature, value) pairs: each distinct pair is worded once, identical texts share an id."""

    def __init__(self, values: pd.DataFrame, names: list[str], columns: list[str]) -> None:
        self.values, self.names, self.columns = values, names, columns
        self.texts: list[str] = []
        self._ids: dict[str, int] = {}
        self._arrays: dict[str, np.ndarray] = {}
        all_float = all(getattr(dtype, "kind", "O") == "f" for dtype in values.dtypes)
        self._block = values.to_numpy(dtype=float) if all_float else None  # a model matrix: one array

    def _array(self, column: str) -> np.ndarray:
        if column not in self._arrays:
            if self._block is not None:
                self._arrays[column] = self._block[:, self.values.columns.get_loc(column)]
            else:
                array = self.values[column].to_numpy()
                self._arrays[column] = array if array.dtype.kind in "iufb" else array.astype(object)
        return self._arrays[column]

    def _id(self, text: str) -> int:
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self.texts)
            self.texts.append(text)
        return found

    def text_ids(self, rows: np.ndarray, candidates: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The text id of each valid candidate (feature index) of each of `rows`; -1 elsewhere."""
        ids = np.full(candidates.shape, -1, dtype=np.int64)
        at_row, at_k = np.nonzero(valid)
        features = candidates[at_row, at_k]
        by_feature = np.argsort(features, kind="stable")
        distinct_features, starts = np.unique(features[by_feature], return_index=True)
        for j, group in zip(distinct_features.tolist(), np.split(by_feature, starts[1:]), strict=True):
            distinct, inverse = _distinct(self._array(self.columns[j])[rows[at_row[group]]])
            words = describer(self.names[j])
            worded = np.array([self._id(words(value)) for value in distinct], dtype=np.int64)
            ids[at_row[group], at_k[group]] = worded[inverse]
        return ids


def _distinct(values: np.ndarray) -> tuple[list[object], np.ndarray]:
    """Distinct values (all missing ones as one) and each value's position among them."""
    if values.dtype.kind in "iufb":
        distinct, inverse = np.unique(values, return_inverse=True)  # NaNs collapse into one
        return distinct.tolist(), inverse.reshape(-1)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return list(uniques), codes
