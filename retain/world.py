"""The simulated world at a cutoff: each customer's state from the observable log plus the true parameters, and
what each retention action does to it.

The rules of the world's actions live here (their constants are `SimulationParams` fields):

- an open case is one whose latest contact had not resolved it by the cutoff (as the features read it). It is
  *ongoing* if that contact was at most `case_followup_days` before the cutoff; older, it is over, unresolved.
- baseline: an ongoing open case continues after the cutoff: more contacts, transfers and channel switches drawn
  from its difficulty as the simulator draws them, resolved in the end with the simulator's resolution chance;
  its final badness enters the service pressure. Every other case keeps the badness its contacts show.
- `resolve_open_case`: every open case is resolved at the cutoff: its badness is recomputed as resolved with
  the contacts, transfers and switches seen so far, and it gets no further contacts.
- `single_owner`: an ongoing open case gets no further contacts, transfers or channel switches; it is resolved
  or not as in the baseline continuation.
- `service_recovery`: for a customer with a contact in the `recovery_window_days` before the cutoff, the badness
  of that latest contact's case (as the baseline has it) is lowered by `recovery_relief`, floored at 0.

An action that does not apply to a customer (no open case; no recent contact) changes nothing. The service
pressure at the cutoff is what the actions change: the sum over the customer's cases of (badness - neutral
level), each decayed from its opening as the simulator decays it (`retain.replay` plays the future from it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retain.actions import ACTION_NAMES
from retain.errors import RetainError
from retain.reference import observed_cases, simulation_params
from retain.simulate import (
    MAX_CONTACTS,
    SimulationParams,
    case_badness,
    case_chance,
    case_difficulty,
    more_contacts,
    pressure_decay,
    resolves,
    switch_chance,
    transfer_rate,
)

DAY = pd.Timedelta(days=1)
TRUE_COLUMNS = ("purchase_rate", "dropout_probability", "spend_scale", "case_propensity", "service_friction",
                "dropout_at")
CONTINUATION_STREAM = 0  # random stream of the open cases' continuation; the future's rounds use stream 1


@dataclass(frozen=True)
class World:
    """Customers who had bought by the cutoff (arrays in `customer_ids` order) and the cases they had opened
    by then (`cases`: one row each, `customer` is the customer's position)."""

    customer_ids: np.ndarray
    alive: np.ndarray
    purchase_rate: np.ndarray
    dropout_probability: np.ndarray
    spend_scale: np.ndarray
    case_chance: np.ndarray
    friction: np.ndarray
    cases: pd.DataFrame
    latest_case: np.ndarray  # row in `cases` of the case of each customer's latest contact; -1 without one
    recent_contact: np.ndarray
    params: SimulationParams

    def __len__(self) -> int:
        return len(self.customer_ids)

    def applies(self, action: str) -> np.ndarray:
        """Per customer: whether `action` changes anything in the world for them."""
        if action in ("resolve_open_case", "single_owner"):  # any open case; an ongoing one
            which = self.cases["open" if action == "resolve_open_case" else "ongoing"].to_numpy(bool)
            return np.bincount(self.cases["customer"].to_numpy(int)[which], minlength=len(self)) > 0
        if action == "service_recovery":
            return self.recent_contact.copy()
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTION_NAMES)})")


def world_at(truth: pd.DataFrame, transactions: pd.DataFrame, interactions: pd.DataFrame,
             as_of: dt.date) -> World:
    """The state of every simulated customer who had bought by the end of the day `as_of`: alive or not (the
    true dropout time), the true rates, and the cases seen by then (customers added to the log by hand have no
    true parameters and are left out)."""
    missing = [column for column in TRUE_COLUMNS if column not in truth.columns]
    if missing:
        raise RetainError(f"truth.parquet lacks {', '.join(missing)}: it was written by an older `retain generate`;"
                          " generate the data again")
    params = simulation_params(truth)
    end = pd.Timestamp(as_of) + DAY
    bought = transactions.loc[(transactions["timestamp"] < end) & transactions["customer_id"].isin(
        truth["customer_id"]), "customer_id"].unique()
    ids = np.sort(bought.astype(object))
    true = truth.set_index("customer_id").loc[ids]
    cases = observed_cases(interactions[interactions["customer_id"].isin(ids)], end).reset_index(drop=True)
    cases["customer"] = pd.Index(ids).get_indexer(cases["customer_id"])
    cases["age_days"] = ((end - cases["opened"]) / DAY).to_numpy(float)
    silent_days = ((end - cases["last_contact"]) / DAY).to_numpy(float)
    cases["ongoing"] = cases["open"].to_numpy(bool) & (silent_days <= params.case_followup_days)
    latest = np.full(len(ids), -1)
    by_time = cases.sort_values(["last_contact", "opened"], kind="stable")
    latest[by_time["customer"].to_numpy()] = by_time.index.to_numpy()  # the last write per customer wins
    recent = np.zeros(len(ids), dtype=bool)
    recent[cases["customer"].to_numpy()[silent_days <= params.recovery_window_days]] = True
    dropout_at = pd.to_datetime(true["dropout_at"])
    return World(
        customer_ids=ids, alive=(dropout_at.isna() | (dropout_at >= end)).to_numpy(),
        purchase_rate=true["purchase_rate"].to_numpy(float),
        dropout_probability=true["dropout_probability"].to_numpy(float),
        spend_scale=true["spend_scale"].to_numpy(float),
        case_chance=case_chance(true["case_propensity"].to_numpy(float), params),
        friction=true["service_friction"].to_numpy(float), cases=cases, latest_case=latest,
        recent_contact=recent, params=params,
    )


@dataclass(frozen=True)
class Continuation:
    """Per case, how it ends in the baseline: ongoing open cases continued, every other case as seen; and the
    resolution an ongoing open case gets in the end (`single_owner` keeps it)."""

    badness: np.ndarray
    resolved: np.ndarray


def continue_cases(world: World, seed: int, replicate: int = 0) -> Continuation:
    """Play every ongoing open case to its end with the simulator's case mechanics (one stream for all
    scenarios: a case's continuation is drawn once per replicate)."""
    cases = world.cases
    rng = np.random.default_rng([seed, replicate, CONTINUATION_STREAM])
    seen = cases["contacts"].to_numpy(int)
    difficulty = case_difficulty(world.friction[cases["customer"].to_numpy()], rng)
    extra = more_contacts(difficulty, np.maximum(MAX_CONTACTS - seen, 0), rng)
    resolved_later = resolves(difficulty, rng)
    extra_transfers = rng.poisson(transfer_rate(difficulty, seen + extra) - transfer_rate(difficulty, seen))
    extra_switches = rng.binomial(extra, switch_chance(difficulty))
    ongoing = cases["ongoing"].to_numpy(bool)
    resolved = np.where(ongoing, resolved_later, cases["resolved"].to_numpy(bool))
    badness = np.where(ongoing, case_badness(seen + extra, resolved.astype(float),
                                             cases["transfers"].to_numpy(float) + extra_transfers,
                                             cases["switches"].to_numpy(float) + extra_switches),
                       cases["badness"].to_numpy(float))
    return Continuation(badness=badness, resolved=resolved)


def badness_after(world: World, continuation: Continuation, action: str | None,
                  treated: np.ndarray) -> np.ndarray:
    """Each case's final badness when `action` (None: none) is taken for the `treated` customers (a boolean
    mask; customers it does not apply to are unchanged whatever the mask says)."""
    cases = world.cases
    badness = continuation.badness.copy()
    if action is None:
        return badness
    treated_case = np.asarray(treated, dtype=bool)[cases["customer"].to_numpy()]
    as_seen = [cases[column].to_numpy(float) for column in ("contacts", "transfers", "switches")]
    if action == "resolve_open_case":
        target = treated_case & cases["open"].to_numpy(bool)
        resolved = case_badness(as_seen[0], np.ones(len(cases)), as_seen[1], as_seen[2])
        badness[target] = resolved[target]
    elif action == "single_owner":
        target = treated_case & cases["ongoing"].to_numpy(bool)
        owned = case_badness(as_seen[0], continuation.resolved.astype(float), as_seen[1], as_seen[2])
        badness[target] = owned[target]
    elif action == "service_recovery":
        target = world.latest_case[np.asarray(treated, dtype=bool) & world.recent_contact]
        badness[target] = np.maximum(badness[target] - world.params.recovery_relief, 0.0)
    else:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTION_NAMES)})")
    return badness


def cutoff_pressure(world: World, badness: np.ndarray) -> np.ndarray:
    """Per customer, the service pressure at the cutoff from its cases' final badness."""
    weight = (badness - world.params.neutral_badness) * pressure_decay(world.cases["age_days"].to_numpy(float),
                                                                       world.params)
    return np.bincount(world.cases["customer"].to_numpy(int), weights=weight, minlength=len(world))
