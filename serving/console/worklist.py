"""The work list: the served batch filtered, sorted by any column and cut into stable cursor pages.

`WorkIndex` is built once per served batch (`ScoreView`): the columns the console filters and sorts by beyond
the view's own (country, age of the oldest open case, days since the last purchase, read from the batch file),
and each sort order, made when first asked for. A page is a boolean mask of the filters over the whole batch
(so the count and total value at risk are those of the whole filtered set) read in the sort's order from a
start position. The cursor is `/v1/at-risk`'s (`serving.routes.at_risk`: batch id and position, here a
position in the sort's order), so pages neither skip nor repeat a row while the batch is served.

Every order puts missing values last and breaks ties by customer id (ascending), like the batch itself; the
default order (value at risk, descending) is the batch's own, the one `/v1/at-risk` pages through.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from batch.store import CONTEXT_COLUMNS, store_dir
from serving.state import TIER_CODES, ScoreView

COLUMNS = ("customer_id", "churn_probability", "risk_tier", "clv", "value_at_risk", "value_saved", "best_action",
           "top_reason",
           "oldest_open_case_days", "days_since_last_purchase")
DEFAULT_SORT = ("value_at_risk", "desc")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_TEXT = 1024


class FilterError(ValueError):
    """A filter or paging value that cannot be used; the message names the field and what it takes."""


def _number(name: str, text: str, minimum: float | None = None, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise FilterError(f"{name}: {text[:40]!r} is not {kind}") from None
    if not math.isfinite(value):
        raise FilterError(f"{name}: {text[:40]!r} is not a finite number")
    if minimum is not None and value < minimum:
        raise FilterError(f"{name}: must be at least {minimum:g}, not {text[:40]}")
    return value


@dataclass(frozen=True)
class Filters:
    """What the agent narrowed the list to; empty fields mean "any"."""

    tier: str = ""
    segment: str = ""
    country: str = ""
    min_clv: float | None = None
    has_open_case: bool = False
    q: str = ""
    not_contacted_days: int | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        text = {name: query.get(name, "") for name in ("tier", "segment", "country", "min_clv", "has_open_case",
                                                       "q", "not_contacted_days")}
        for name, value in text.items():
            if len(value) > MAX_TEXT:
                raise FilterError(f"{name}: longer than {MAX_TEXT:,} characters")
        if text["tier"] and text["tier"] not in TIER_CODES:
            raise FilterError(f"tier: {text['tier'][:40]!r} is not one of {', '.join(TIER_CODES)}")
        if text["has_open_case"] not in ("", "true"):
            raise FilterError(f"has_open_case: {text['has_open_case'][:40]!r}; tick the box (true) or leave it")
        min_clv = _number("min_clv", text["min_clv"].strip()) if text["min_clv"].strip() else None
        days = text["not_contacted_days"].strip()
        return cls(tier=text["tier"], segment=text["segment"], country=text["country"], min_clv=min_clv,
                   has_open_case=text["has_open_case"] == "true", q=text["q"],
                   not_contacted_days=int(_number("not_contacted_days", days, 1, integer=True)) if days else None)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for links that keep them."""
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value in ("", None, False):
                continue
            out[item.name] = "true" if value is True else repr(value) if isinstance(value, float) else str(value)
        return out

    @property
    def any(self) -> bool:
        return bool(self.query())


@dataclass(frozen=True)
class Sort:
    column: str = DEFAULT_SORT[0]
    order: str = DEFAULT_SORT[1]

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Sort:
        column = query.get("sort") or DEFAULT_SORT[0]
        order = query.get("order") or ("asc" if column != DEFAULT_SORT[0] else DEFAULT_SORT[1])
        if column not in COLUMNS:
            raise FilterError(f"sort: {column[:40]!r} is not a column; sort by one of {', '.join(COLUMNS)}")
        if order not in ("asc", "desc"):
            raise FilterError(f"order: {order[:40]!r}; use asc or desc")
        return cls(column, order)

    @property
    def is_default(self) -> bool:
        return (self.column, self.order) == DEFAULT_SORT


def parse_limit(text: str | None) -> int:
    if not text:
        return DEFAULT_LIMIT
    limit = int(_number("limit", text, 1, integer=True))
    if limit > MAX_LIMIT:
        raise FilterError(f"limit: at most {MAX_LIMIT:,} rows per page, not {limit:,}")
    return limit


@dataclass(frozen=True)
class Page:
    positions: list[int]  # batch row positions, in the sort's order
    next_start: int | None  # where the next page starts in the sort's order; None on the last page
    count: int  # customers in the whole filtered set
    value_at_risk: float  # their total value at risk


def _codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Sorted category codes (missing = -1) and the categories in order."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True, use_na_sentinel=True)
    return codes.astype(np.int32), [str(u) for u in uniques]


class WorkIndex:
    """The console's columns and sort orders over one served batch (read-only once built)."""

    def __init__(self, view: ScoreView, context: pd.DataFrame) -> None:
        self.view = view
        self.countries = context["country"].to_numpy(dtype=object)
        self.country_codes, self.country_names = _codes(self.countries)
        self.open_case_days = context["oldest_open_case_days"].to_numpy(dtype=float, na_value=np.nan)
        self.since_purchase = context["days_since_last_purchase"].to_numpy(dtype=float, na_value=np.nan)
        self.segment_names = sorted(view.segment_index)
        self.ids = pa.array(view.ids.tolist(), type=pa.large_string())
        self._orders: dict[tuple[str, str], np.ndarray] = {}
        self._id_rank: np.ndarray | None = None
        self._lock = threading.Lock()

    @classmethod
    def build(cls, view: ScoreView, data_dir: Path) -> WorkIndex:
        """The index of `view`, with its context columns from its batch file (missing if it lacks them)."""
        path = store_dir(data_dir) / view.info.file
        present = set(pq.read_schema(path).names) if path.is_file() else set()
        wanted = [c for c in CONTEXT_COLUMNS if c in present]
        context = pd.DataFrame(index=range(len(view)), columns=CONTEXT_COLUMNS, dtype=object)
        if wanted:
            frame = pd.read_parquet(path, columns=["customer_id", *wanted])
            where = pd.Index(frame["customer_id"].astype(str)).get_indexer(view.ids)
            for column in wanted:
                values = frame[column].to_numpy(dtype=object)[where]
                values[where < 0] = None
                context[column] = values
        context["country"] = [v if isinstance(v, str) else None for v in context["country"]]
        return cls(view, context)

    def column(self, name: str) -> np.ndarray:
        """A displayed column over the whole batch (numbers as float with NaN, texts as objects)."""
        if name in self.view.floats:
            return self.view.floats[name]
        return {"customer_id": self.view.ids, "risk_tier": self.view.tiers, "top_reason": self.view.reasons[:, 0],
                "best_action": self.view.best_actions,
                "oldest_open_case_days": self.open_case_days,
                "days_since_last_purchase": self.since_purchase}[name]

    def mask(self, filters: Filters, contacted: set[str]) -> np.ndarray | None:
        """Which rows pass every filter (None: all do); `contacted` are ids with recent outreach."""
        view, tests = self.view, []
        if filters.tier:
            tests.append(view.tier_codes == TIER_CODES[filters.tier])
        if filters.segment:
            tests.append(view.segment_codes == view.segment_index.get(filters.segment, -2))
        if filters.country:
            code = self.country_names.index(filters.country) if filters.country in self.country_names else -2
            tests.append(self.country_codes == code)
        if filters.min_clv is not None:
            tests.append(view.floats["clv"] >= filters.min_clv)
        if filters.has_open_case:
            tests.append(~np.isnan(self.open_case_days))
        if filters.q:
            found = pc.match_substring(self.ids, filters.q)
            tests.append(found.to_numpy(zero_copy_only=False).astype(bool))
        if filters.not_contacted_days is not None:
            recent = np.ones(len(view), dtype=bool)
            positions = [view.position[c] for c in contacted if c in view.position]
            recent[np.asarray(positions, dtype=np.int64)] = False
            tests.append(recent)
        if not tests:
            return None
        mask = tests[0].copy()
        for test in tests[1:]:
            mask &= test
        return mask

    def order(self, sort: Sort) -> np.ndarray | None:
        """Batch positions in the sort's order (None: the batch's own order)."""
        if sort.is_default:
            return None
        key = (sort.column, sort.order)
        with self._lock:
            if key not in self._orders:
                self._orders[key] = self._make_order(sort)
            return self._orders[key]

    def _make_order(self, sort: Sort) -> np.ndarray:
        if self._id_rank is None:
            rank = np.empty(len(self.view), dtype=np.int64)
            rank[pc.sort_indices(self.ids).to_numpy()] = np.arange(len(self.view))
            self._id_rank = rank
        sign = -1 if sort.order == "desc" else 1
        if sort.column == "customer_id":
            return np.argsort(sign * self._id_rank, kind="stable")
        if sort.column == "risk_tier":
            codes = self.view.tier_codes.astype(np.int64)
            missing, key = codes < 0, sign * codes
        elif sort.column in ("top_reason", "best_action"):
            codes, _ = _codes(self.column(sort.column))
            missing, key = codes < 0, sign * codes.astype(np.int64)
        else:
            values = self.column(sort.column)
            missing, key = np.isnan(values), sign * np.nan_to_num(values, nan=0.0)
        return np.lexsort((self._id_rank, key, missing))  # last key first: missing last, then value, then id

    def page(self, filters: Filters, sort: Sort, start: int, limit: int, contacted: set[str]) -> Page:
        mask, order = self.mask(filters, contacted), self.order(sort)
        var = self.view.floats["value_at_risk"]
        if mask is None:
            count, total = len(self.view), float(np.nansum(var))
            hits = np.arange(start, min(start + limit + 1, len(self.view)))
        else:
            count, total = int(mask.sum()), float(np.nansum(var[mask]))
            in_order = mask if order is None else mask[order]
            hits = np.flatnonzero(in_order[start:])[: limit + 1] + start
        following = int(hits[limit]) if len(hits) > limit else None
        hits = hits[:limit]
        positions = hits if order is None else order[hits]
        return Page(positions.tolist(), following, count, total)

    def all_positions(self, filters: Filters, sort: Sort, contacted: set[str]) -> np.ndarray:
        """Every row of the filtered set in the sort's order (the CSV export)."""
        mask, order = self.mask(filters, contacted), self.order(sort)
        positions = np.arange(len(self.view)) if order is None else order
        return positions if mask is None else positions[mask[positions]]

    def row(self, i: int) -> dict[str, Any]:
        record = self.view.record(i)
        record["top_reason"] = record["reasons"][0] if record["reasons"] else None
        record["oldest_open_case_days"] = _float(self.open_case_days[i])
        record["days_since_last_purchase"] = _float(self.since_purchase[i])
        record["country"] = self.countries[i]
        return record


def _float(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


class WorkIndexCache:
    """One `WorkIndex` per served view, built on first use; a reload's new view gets a new one."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._entries: dict[int, tuple[ScoreView, WorkIndex]] = {}
        self._lock = threading.Lock()

    def get(self, view: ScoreView) -> WorkIndex:
        entry = self._entries.get(id(view))
        if entry is not None and entry[0] is view:
            return entry[1]
        with self._lock:
            entry = self._entries.get(id(view))
            if entry is None or entry[0] is not view:
                entry = (view, WorkIndex.build(view, self.data_dir))
                self._entries = {**dict(list(self._entries.items())[-1:]), id(view): entry}  # keep two
            return entry[1]
