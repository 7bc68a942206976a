"""What the service serves: one immutable snapshot of the score batch, the champion models and the API keys.

`AppState.snapshot` is a single reference; a reload builds a complete new `Snapshot` off to the side and then
swaps that reference in one assignment. A request takes the snapshot once when it starts (`deps.SnapshotDep`),
so requests in flight finish on the old batch and models while new ones get the new ones; nothing is ever
mutated in place. Reloads are serialised, and a reload that cannot load everything keeps the old snapshot.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from batch.store import BatchInfo, ScoreBatch, store_dir
from features.catalogue import Feature
from features.rfm import RFM_COLUMNS
from models.population import TIERS
from models.registry import champion_scorer
from models.scoring import REASON_COLUMNS, FeatureBlock, Scorer, score
from retain.actions import ACTION_NAMES
from retain.errors import RetainError
from retain.settings import Settings
from serving.auth import KeyRing, load_keyring
from serving.score_input import FeatureTable

FLOATS = ("churn_probability", "p_alive", "expected_purchases", "clv", "clv_low", "clv_high", "value_at_risk",
          "value_saved")
REASONS = REASON_COLUMNS
# Orders of the at-risk list besides the batch's own (value at risk): each a permutation of row positions.
ORDERS = ("value_saved",)
TIER_CODES = {tier: code for code, tier in enumerate(TIERS)}


def _number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if np.isfinite(number) else None


def _floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column, all NaN when the batch predates it."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=float, na_value=np.nan)


def _descending(values: np.ndarray) -> np.ndarray:
    """Row positions by value, highest first, missing last; ties keep batch order."""
    return np.lexsort((np.arange(len(values)), -np.nan_to_num(values, nan=-np.inf)))


def _texts(series: pd.Series) -> np.ndarray:
    values = series.astype(object).to_numpy()
    return np.array([v if isinstance(v, str) else None for v in values], dtype=object)


@dataclass(frozen=True)
class ScoreView:
    """A loaded batch as plain numpy columns: O(1) rows by id, and at-risk pages by numpy masks."""

    info: BatchInfo
    position: Mapping[str, int]
    ids: np.ndarray
    segments: np.ndarray
    tiers: np.ndarray
    floats: Mapping[str, np.ndarray]
    reasons: np.ndarray
    tier_codes: np.ndarray
    segment_codes: np.ndarray
    segment_index: Mapping[str, int]
    best_actions: np.ndarray
    action_after: np.ndarray  # customers x ACTION_NAMES: churn probability after each action (NaN: n/a)
    action_saved: np.ndarray  # customers x ACTION_NAMES: value each action saves
    orders: Mapping[str, np.ndarray]

    @classmethod
    def from_batch(cls, batch: ScoreBatch) -> ScoreView:
        frame = batch.frame
        segments = _texts(frame["segment"]) if "segment" in frame else np.full(len(frame), None, dtype=object)
        tiers = _texts(frame["risk_tier"])
        codes, uniques = pd.factorize(pd.Series(segments, dtype=object), use_na_sentinel=True)
        view = cls(
            info=batch.info, position=batch.position, ids=_texts(frame["customer_id"].astype(str)),
            segments=segments, tiers=tiers,
            floats={name: _floats(frame, name) for name in FLOATS},
            reasons=np.column_stack([_texts(frame[name]) for name in REASONS]),
            tier_codes=np.array([TIER_CODES.get(t, -1) for t in tiers], dtype=np.int8),
            segment_codes=codes.astype(np.int32), segment_index={str(u): i for i, u in enumerate(uniques)},
            best_actions=(_texts(frame["best_action"]) if "best_action" in frame
                          else np.full(len(frame), None, dtype=object)),
            action_after=np.column_stack([_floats(frame, f"churn_probability_after_{a}") for a in ACTION_NAMES]),
            action_saved=np.column_stack([np.nan_to_num(_floats(frame, f"value_saved_{a}")) for a in ACTION_NAMES]),
            orders={name: _descending(_floats(frame, name)) for name in ORDERS},
        )
        for array in (view.ids, view.segments, view.tiers, view.reasons, view.tier_codes, view.segment_codes,
                      view.best_actions, view.action_after, view.action_saved, *view.floats.values(),
                      *view.orders.values()):
            array.setflags(write=False)  # a snapshot is shared by concurrent requests: read-only
        return view

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def meta(self) -> dict[str, Any]:
        """The batch as answers describe it (`BatchMeta`'s fields), made once; callers copy, never change it."""
        return self.info.model_dump(exclude={"file"})

    def record(self, i: int) -> dict[str, Any]:
        """One customer's score as plain JSON-ready values (missing figures as None)."""
        row: dict[str, Any] = {"customer_id": self.ids[i], "segment": self.segments[i],
                                  "risk_tier": self.tiers[i]}
        for name, column in self.floats.items():
            row[name] = _number(column[i])
        row["reasons"] = [r for r in self.reasons[i] if r is not None]
        row["best_action"] = self.best_actions[i]
        after, saved = self.action_after[i], self.action_saved[i]
        row["actions"] = [{"action": ACTION_NAMES[k], "churn_probability_after": float(after[k]),
                           "value_saved": float(saved[k])}
                          for k in np.argsort(-saved, kind="stable").tolist() if not np.isnan(after[k])]
        return row

    def records(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        return [self.record(i) for i in positions]

    def scan(self, start: int, limit: int, tier: str | None = None, segment: str | None = None,
             min_clv: float | None = None, order: str | None = None) -> tuple[list[int], int | None]:
        """Up to `limit` row positions that pass the filters, from place `start` on in the list's order (the
        batch's, i.e. by value at risk, or one of `ORDERS`), and the place the next page starts at (None when
        there is no further match)."""
        sequence = self.orders[order] if order is not None else None

        def rows(a: int, b: int) -> slice | np.ndarray:
            return slice(a, b) if sequence is None else sequence[a:b]

        tests: list[Callable[[int, int], np.ndarray]] = []
        if tier is not None:
            tier_code = TIER_CODES[tier]
            tests.append(lambda a, b: self.tier_codes[rows(a, b)] == tier_code)
        if segment is not None:
            segment_code = self.segment_index.get(segment)
            if segment_code is None:
                return [], None
            tests.append(lambda a, b: self.segment_codes[rows(a, b)] == segment_code)
        if min_clv is not None:
            clv = self.floats["clv"]
            tests.append(lambda a, b: clv[rows(a, b)] >= min_clv)
        found: list[int] = []
        position, step, total = start, max(1024, 4 * limit), len(self)
        while position < total and len(found) <= limit:
            end = min(total, position + step)
            if tests:
                mask = tests[0](position, end)
                for test in tests[1:]:
                    mask &= test(position, end)
                hits = np.flatnonzero(mask) + position
            else:
                hits = np.arange(position, end)
            found.extend(hits[: limit + 1 - len(found)].tolist())
            position, step = end, step * 2
        following = found[limit] if len(found) > limit else None
        page = found[:limit]
        return (page if sequence is None else sequence[page].tolist()), following


def score_table(scorer: Scorer, table: FeatureTable) -> list[dict[str, Any]]:
    """On-demand scores of a validated request table, through the one scoring core."""
    space = scorer.churn.space
    block = FeatureBlock(customer_ids=table.objects("customer_id"), numeric=table.numbers(space.numeric),
                         categories={name: table.objects(name) for name in space.categories},
                         rfm=table.numbers(RFM_COLUMNS, np.float64))
    return score(scorer, block).records()


@dataclass(frozen=True)
class Snapshot:
    """Everything one request reads. `problems` says what could not be loaded (then it is not ready)."""

    view: ScoreView | None
    models: Scorer | None
    keys: KeyRing
    loaded_at: dt.datetime
    problems: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return self.view is not None and self.models is not None


def load_models(settings: Settings, features: Mapping[str, Feature]) -> Scorer:
    scorer = champion_scorer(settings, features)
    unknown = [c for c in scorer.input_columns if c not in features]
    if unknown:
        raise RetainError(f"churn champion v{scorer.churn_version} reads columns the feature catalogue lacks: "
                          f"{', '.join(unknown[:10])}; check the feature settings")
    return scorer


def load_snapshot(settings: Settings, features: Mapping[str, Feature]) -> Snapshot:
    """Load what can be loaded; every part that fails is named in `problems`."""
    keys = load_keyring(settings)
    problems: list[str] = []
    view: ScoreView | None = None
    models: Scorer | None = None
    try:
        view = ScoreView.from_batch(ScoreBatch.load(store_dir(settings.data_dir)))
    except (RetainError, OSError, ValueError, KeyError) as error:
        problems.append(f"score store: {error}")
    try:
        models = load_models(settings, features)
    except Exception as error:  # noqa: BLE001 - a registry or artifact failure of any kind means "not ready"
        problems.append(f"models: {type(error).__name__}: {error}")
    return Snapshot(view, models, keys, dt.datetime.now(dt.UTC), tuple(problems))


class ReloadFailed(RetainError):
    """A reload could not load everything; the old snapshot is still served."""


class AppState:
    """Holds the current snapshot; `reload` swaps in a new one atomically or not at all."""

    def __init__(self, settings: Settings, features: Mapping[str, Feature], snapshot: Snapshot) -> None:
        self.settings = settings
        self.features = dict(features)
        self._snapshot = snapshot
        self._reload_lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def reload(self) -> Snapshot:
        with self._reload_lock:
            try:
                fresh = load_snapshot(self.settings, self.features)
            except RetainError as error:
                raise ReloadFailed(f"{error}") from None
            if not fresh.ready:
                raise ReloadFailed("; ".join(fresh.problems))
            self._snapshot = fresh  # the one assignment that switches every new request over
            freeze_heap()
            return fresh


def freeze_heap() -> None:
    """Move everything alive now (imported libraries, the loaded batch and models) out of the garbage
    collector's reach. Without it, a full collection that a big request happens to trigger walks millions of
    long-lived objects and stalls that request for a few hundred milliseconds. Objects freed later by
    reference counting are still freed."""
    gc.collect()
    gc.freeze()
