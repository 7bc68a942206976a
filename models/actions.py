"""Next best actions on the model side: what each action changes in a customer's feature row.

An action is one of the levers a retention team pulls through its service (`retain.actions`), defined here as
a change to the actionable features (`Feature.actionable` in the catalogue) and a rule for whom it applies.
The churn model scores the changed row; the drop in churn probability times CLV is the value the action saves.
These are model estimates from observational data (customers whose cases went this way churned less), not
measured effects: `retain evaluate-actions` checks them against a simulated world whose causes are known.

The features describe windows, not single cases, so the changes are approximations stated per action: the
open case is taken to lie in every window at least as long as its age (`oldest_open_case_days`), and the
friction of the shortest such window is attributed to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from features.catalogue import Feature
from retain.actions import ACTION_NAMES, ActionName

GOOD_SENTIMENT = 0.5  # VADER compound: clearly positive
GOOD_CES = 6.0  # Customer Effort Score 1-7, 7 easy
RECENT_DAYS = 30  # service recovery follows a contact this recent


class Row:
    """Named access to the numeric columns of a block of feature rows (a float32 copy), including each windowed
    feature by window, as the catalogue defines them."""

    def __init__(self, numeric: np.ndarray, columns: Sequence[str], features: Mapping[str, Feature]) -> None:
        self.values = numeric
        self._index = {name: i for i, name in enumerate(columns)}
        self._windows = sorted({f.window for f in features.values() if f.window is not None})

    def has(self, name: str) -> bool:
        return name in self._index

    def get(self, name: str) -> np.ndarray:
        """The column as float64 (NaN where missing), or all-NaN when the model does not read it."""
        if name not in self._index:
            return np.full(len(self.values), np.nan)
        return self.values[:, self._index[name]].astype(np.float64)

    def set(self, name: str, value: np.ndarray | float, where: np.ndarray) -> None:
        if name in self._index:
            column = self.values[:, self._index[name]]
            column[where] = np.broadcast_to(np.asarray(value, dtype=np.float32), column.shape)[where]

    def windows(self) -> list[int]:
        return self._windows

    def open_case_in(self, window: int) -> np.ndarray:
        """Rows whose oldest open case lies within the window."""
        with np.errstate(invalid="ignore"):
            return self.get("oldest_open_case_days") <= window

    def shortest_window_with_open_case(self) -> np.ndarray:
        """Per row, the shortest window holding the open case (0 where none does)."""
        found = np.zeros(len(self.values), dtype=int)
        for window in reversed(self._windows):
            found = np.where(self.open_case_in(window), window, found)
        return found


@dataclass(frozen=True)
class Action:
    """A lever: whom it applies to, what it changes in the feature row, and how an agent reads it."""

    name: ActionName
    label: str
    description: str
    applies: Callable[[Row], np.ndarray]
    change: Callable[[Row, np.ndarray], None]


def _has_open_case(row: Row) -> np.ndarray:
    return np.nan_to_num(row.get("open_cases")) >= 1


def _resolve_open_case(row: Row, rows: np.ndarray) -> None:
    """No open case left, and the open cases count as resolved on first contact in every window holding them."""
    open_cases = np.nan_to_num(row.get("open_cases"))
    for window in row.windows():
        inside = rows & row.open_case_in(window)
        cases = np.maximum(np.nan_to_num(row.get(f"cases_{window}d")), open_cases)
        resolved_first = np.nan_to_num(row.get(f"first_contact_resolution_rate_{window}d")) * cases
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.minimum(1.0, (resolved_first + open_cases) / cases)
        row.set(f"first_contact_resolution_rate_{window}d", rate, inside & (cases > 0))
    row.set("open_cases", 0.0, rows)
    row.set("oldest_open_case_days", np.nan, rows)


FRICTION = ("transfers", "repeat_contacts", "channel_switches")


def _open_case_friction(row: Row) -> dict[str, np.ndarray]:
    """Transfers, repeat contacts and channel switches of the shortest window holding the open case."""
    shortest = row.shortest_window_with_open_case()
    friction = {stem: np.zeros(len(row.values)) for stem in FRICTION}
    for window in row.windows():
        at = shortest == window
        for stem in FRICTION:
            friction[stem][at] = np.nan_to_num(row.get(f"{stem}_{window}d"))[at]
    return friction


def _single_owner_applies(row: Row) -> np.ndarray:
    friction = _open_case_friction(row)
    return _has_open_case(row) & (sum(friction.values()) > 0)


def _single_owner(row: Row, rows: np.ndarray) -> None:
    """The open case's transfers, repeat contacts and switches never happened, in every window holding it;
    the rates built on them follow."""
    friction = _open_case_friction(row)
    for window in row.windows():
        inside = rows & row.open_case_in(window)
        contacts = np.maximum(np.nan_to_num(row.get(f"contacts_{window}d")) - friction["repeat_contacts"], 1.0)
        transfers = np.maximum(np.nan_to_num(row.get(f"transfers_{window}d")) - friction["transfers"], 0.0)
        for stem in FRICTION:
            row.set(f"{stem}_{window}d", np.maximum(row.get(f"{stem}_{window}d") - friction[stem], 0.0), inside)
        row.set(f"contacts_{window}d", contacts, inside)
        row.set(f"transfers_per_contact_{window}d", transfers / contacts, inside)
        with np.errstate(invalid="ignore", divide="ignore"):
            row.set(f"contacts_per_case_{window}d", contacts / row.get(f"cases_{window}d"),
                    inside & (np.nan_to_num(row.get(f"cases_{window}d")) > 0))


def _service_recovery_applies(row: Row) -> np.ndarray:
    recent = np.nan_to_num(row.get(f"contacts_{RECENT_DAYS}d")) >= 1 if row.has(f"contacts_{RECENT_DAYS}d") else (
        np.zeros(len(row.values), dtype=bool))
    sentiment, ces = row.get("sentiment_last"), row.get("ces_last")
    with np.errstate(invalid="ignore"):
        poor = ~(sentiment >= GOOD_SENTIMENT) | ~(ces >= GOOD_CES)
    return recent & poor


def _service_recovery(row: Row, rows: np.ndarray) -> None:
    """The latest contact ends well: its sentiment and effort at good levels (never lowered)."""
    row.set("sentiment_last", np.fmax(row.get("sentiment_last"), GOOD_SENTIMENT), rows)
    row.set("ces_last", np.fmax(row.get("ces_last"), GOOD_CES), rows)


ACTIONS: dict[ActionName, Action] = {action.name: action for action in (
    Action("resolve_open_case", "Resolve the open case",
           "Close the customer's open cases now, resolved on that contact.", _has_open_case, _resolve_open_case),
    Action("single_owner", "Give the open case one owner",
           "One agent owns the open case to the end: no more transfers, repeat contacts or channel switches.",
           _single_owner_applies, _single_owner),
    Action("service_recovery", "Service recovery call",
           f"Call back after a poor recent contact (last {RECENT_DAYS} days) so that it ends well: good sentiment "
           "and low effort.", _service_recovery_applies, _service_recovery),
)}


@dataclass(frozen=True)
class ActionTable:
    """Per action and customer: churn probability after the action (NaN where it does not apply) and the value
    it saves (CLV x drop in churn probability, never negative, 0 where it does not apply)."""

    churn_probability_after: Mapping[ActionName, np.ndarray]
    value_saved: Mapping[ActionName, np.ndarray]

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """(best action name or None, its value saved) per customer: the largest positive value saved."""
        names = np.array([*ACTION_NAMES, None], dtype=object)
        saved = np.column_stack([self.value_saved[name] for name in ACTION_NAMES])
        best = np.argmax(saved, axis=1)
        value = saved[np.arange(len(saved)), best]
        return names[np.where(value > 0, best, len(ACTION_NAMES))], value


def action_effects(numeric: np.ndarray, columns: Sequence[str], features: Mapping[str, Feature],
                   probability: np.ndarray, clv: np.ndarray,
                   score_rows: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> ActionTable:
    """Apply each action to the rows it applies to and score them again with `score_rows(changed numeric,
    row indexes)`, which returns calibrated churn probabilities."""
    after: dict[ActionName, np.ndarray] = {}
    saved: dict[ActionName, np.ndarray] = {}
    base = Row(numeric, columns, features)
    value = np.nan_to_num(clv, nan=0.0)
    for name, action in ACTIONS.items():
        rows = np.flatnonzero(action.applies(base))
        p_after = np.full(len(numeric), np.nan)
        if rows.size:
            changed = Row(numeric[rows].copy(), columns, features)
            action.change(changed, np.ones(rows.size, dtype=bool))
            p_after[rows] = score_rows(changed.values, rows)
        after[name] = p_after
        saved[name] = np.where(np.isnan(p_after), 0.0, np.maximum(0.0, value * (probability - p_after)))
    return ActionTable(after, saved)
