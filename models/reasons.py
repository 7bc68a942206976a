"""Reason codes: the few features that push a customer's churn score up most, worded for a retention agent.

The contributions are XGBoost's approximate (Saabas) per-feature contributions to the log-odds, without the
bias column (see `ChurnModel.explain`), so a positive value is a feature that raises this customer's churn
score above the average customer's. The wording of each feature is its catalogue entry's `reason`, applied to
the customer's own value ("3 repeat contacts about the same case in 30 days" tells an agent more than
"repeat_contacts_30d"). A missing value gets the entry's phrase for it ("no service contact in 30 days"),
never "nan": a missing service rate means there was nothing to measure, which is itself a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

from features import wording
from features.catalogue import Feature
from models.space import FeatureSpace

__all__ = ["ColumnTexts", "ReasonTable", "column_wordings", "reason_codes", "reason_table"]

Words = Callable[[float], str]


def _plain(value: object) -> str:
    """A value for the generic "feature = value" wording: whole numbers without decimals."""
    if isinstance(value, Real) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return f"{number:.2f}" if abs(number) >= 1 else f"{number:.3g}"
    return str(value)


def _value_words(feature: Feature) -> Words:
    """The catalogue wording of a feature's values; "feature = value" where it has none or cannot read one."""
    generic = _generic(feature.name, None)
    if feature.reason is None:
        return generic
    describe = wording.describer(feature)

    def words(value: float) -> str:
        try:
            return describe(value)
        except (TypeError, ValueError):
            return generic(value)

    return words


def _level_words(feature: Feature, level: str) -> Words:
    """A one-hot column's 0/1 value: the level in words, or that the customer does not have it."""
    if feature.reason is None:
        return _generic(feature.name, level)
    has, other = wording.describe(feature, level), wording.other_level(feature, level)
    return lambda value: has if value >= 0.5 else other


def _generic(name: str, level: str | None) -> Words:
    if level is not None:
        return lambda value: f"{name} = {level}" if value >= 0.5 else f"{name} is not {level}"
    return lambda value: f"{name} not recorded" if wording.is_missing(value) else f"{name} = {_plain(value)}"


def column_wordings(space: FeatureSpace, features: Mapping[str, Feature]) -> list[Words]:
    """The wording of each model column's matrix value, in column order (one-hot columns word their level).
    A feature the catalogue no longer has is worded generically."""
    words: list[Words] = []
    for name, level in space.sources:
        feature = features.get(name)
        if feature is None:
            words.append(_generic(name, level))
        elif level is None:
            words.append(_value_words(feature))
        else:
            words.append(_level_words(feature, level))
    return words


class ColumnTexts:
    """The wording of each model column (`column_wordings`), keeping the texts it has made for the next call:
    a 1,000-row API call words about a thousand distinct (column, value) pairs, and most of them (counts, days,
    levels, missing values) come back call after call. Bounded: emptied whenever it holds `limit` texts.
    Safe to share between threads (one dict; a text made twice is the same text)."""

    def __init__(self, wordings: Sequence[Words], limit: int = 100_000) -> None:
        self.wordings = list(wordings)
        self.limit = limit
        self._made: dict[tuple[int, float | str], str] = {}

    def __len__(self) -> int:
        return len(self.wordings)

    def text(self, column: int, value: float) -> str:
        # NaN never equals itself, and 0.0 == -0.0 though a wording may tell them apart: both keyed by repr
        key: tuple[int, float | str] = (column, value if value and value == value else repr(value))
        made = self._made.get(key)
        if made is None:
            if len(self._made) >= self.limit:
                self._made.clear()
            made = self._made[key] = self.wordings[column](value)
        return made


@dataclass(frozen=True)
class ReasonTable:
    """Each row's reasons as indexes into `texts`, filled from the left, -1 where a row has fewer: a million
    rows' reasons as two arrays, so a batch gets its reason columns without a Python list per row."""

    ids: np.ndarray
    texts: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[list[str]]:
        """Each row's reasons, as `lists` gives them."""
        return iter(self.lists())

    def lists(self) -> list[list[str]]:
        """Per row, its reasons in order."""
        given = self.ids >= 0
        flat = self.texts[self.ids[given]].tolist()  # row by row, in order
        ends = np.cumsum(given.sum(axis=1)).tolist()
        return [flat[begin:end] for begin, end in zip([0, *ends[:-1]], ends, strict=True)]

    def column(self, k: int) -> np.ndarray:
        """Every row's reason number `k` (from 0), None where it has fewer."""
        if k >= self.ids.shape[1]:
            return np.full(len(self.ids), None, dtype=object)
        return np.append(self.texts, np.array([None], dtype=object))[self.ids[:, k]]  # -1 picks the None


def reason_codes(contributions: np.ndarray, matrix: np.ndarray, wordings: Sequence[Words] | ColumnTexts,
                 top: int = 3) -> list[list[str]]:
    """`reason_table`'s reasons as a list per row."""
    return reason_table(contributions, matrix, wordings, top).lists()


def reason_table(contributions: np.ndarray, matrix: np.ndarray, wordings: Sequence[Words] | ColumnTexts,
                 top: int = 3) -> ReasonTable:
    """For each row, up to `top` reasons: the columns with positive contribution, largest first (ties in
    column order), worded with the row's value in `matrix`. A column whose wording repeats one already given is
    skipped (several missing service rates all say "no service contact in 30 days"), so a row may get fewer
    than `top` reasons, or none when nothing pushes its score up.

    Vectorised over rows, in rounds: each round words the next `top` candidates of the rows still short of
    `top` distinct texts, each distinct (column, value) pair once; most rows are done after the first. A
    round's candidates come from repeated row-wise argmax (the first maximum, so ties go in column order), not
    from sorting every row: a round needs at most `top` of them."""
    scores = np.asarray(contributions, dtype=float)
    values = np.asarray(matrix, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(wordings):
        raise ValueError(f"contributions must be (rows, {len(wordings)} columns), got {scores.shape}; "
                         "drop XGBoost's bias column (the last one of pred_contribs)")
    if values.shape != scores.shape:
        raise ValueError(f"matrix has shape {values.shape}, contributions {scores.shape}")
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    texts = _Texts(values, wordings if isinstance(wordings, ColumnTexts) else ColumnTexts(wordings))
    pushes_up = scores > 0  # NaN contributions never count
    n_up = pushes_up.sum(axis=1)
    remaining = np.where(pushes_up, scores, -np.inf)  # candidates not yet taken
    picked = np.full((len(scores), top), -1, dtype=np.int64)  # text ids, filled from the left
    count = np.zeros(len(scores), dtype=np.int64)
    active = np.flatnonzero(n_up > 0) if top else np.empty(0, dtype=np.int64)
    start = 0
    while len(active):
        width = min(top, int(n_up[active].max()) - start)
        valid = start + np.arange(width) < n_up[active][:, None]
        ids = texts.ids(active, _next_largest(remaining, active, width), valid)
        for k in range(width):
            candidate = ids[:, k]
            fresh = (candidate >= 0) & (count[active] < top) & ~(picked[active] == candidate[:, None]).any(axis=1)
            rows = active[fresh]
            picked[rows, count[rows]] = candidate[fresh]
            count[rows] += 1
        start += width
        active = active[(count[active] < top) & (n_up[active] > start)]
    worded = np.empty(len(texts.texts), dtype=object)
    worded[:] = texts.texts
    return ReasonTable(picked, worded)


def _next_largest(remaining: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """The columns of the `width` largest values left in each of `rows`, largest first, ties in column order
    (argmax gives the first maximum); taken ones are set to -inf in `remaining`."""
    block = remaining[rows]
    at = np.arange(len(rows))
    columns = np.empty((len(rows), width), dtype=np.int64)
    for k in range(width):
        columns[:, k] = best = block.argmax(axis=1)
        block[at, best] = -np.inf
    remaining[rows] = block
    return columns


class _Texts:
    """Texts of (column, value) pairs: each distinct pair is worded once, identical texts share an id."""

    def __init__(self, values: np.ndarray, wordings: ColumnTexts) -> None:
        self.values, self.wordings = values, wordings
        self.texts: list[str] = []
        self._ids: dict[str, int] = {}

    def _id(self, text: str) -> int:
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self.texts)
            self.texts.append(text)
        return found

    def ids(self, rows: np.ndarray, candidates: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The text id of each valid candidate (column index) of each of `rows`; -1 elsewhere."""
        ids = np.full(candidates.shape, -1, dtype=np.int64)
        at_row, at_k = np.nonzero(valid)
        columns = candidates[at_row, at_k]
        values = self.values[rows[at_row], columns]
        order = np.lexsort((values, columns))  # by column, then value (NaNs last): equal pairs side by side
        columns, values = columns[order], values[order]
        first = np.ones(len(order), dtype=bool)  # the first of each distinct pair, NaNs equal to each other
        first[1:] = (columns[1:] != columns[:-1]) | ~((values[1:] == values[:-1])
                                                      | (np.isnan(values[1:]) & np.isnan(values[:-1])))
        text = self.wordings.text
        worded = [self._id(text(j, value)) for j, value in zip(columns[first].tolist(), values[first].tolist(),
                                                                 strict=True)]
        ids[at_row[order], at_k[order]] = np.asarray(worded, dtype=np.int64)[np.cumsum(first) - 1]
        return ids
