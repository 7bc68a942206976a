"""The simulated world at a cutoff: each customer's state from the observable log plus the true parameters, and
what each retention action does to it.

The rules of the world's actions live here (their constants are `SimulationParams` fields):

- an open case is one whose latest contact had not resolved it by the cutoff (as the features read it). It is
  *ongoing* if that contact was at most `case_followup_days` before the cutoff; older, it is over, unresolved.
- baseline: an ongoing open case continues after the cutoff: more contacts, transfers and channel switches drawn
  from its difficulty as the simulator draws them, resolved in the end with the simulator's resolution chance;
  its final badness enters the service pressure. Every other case keeps the badness its contacts show. A case
  that stays unresolved keeps its walk-away hazard (`retain.simulate.walk_away_hazard`, from its final badness)
  until `open_case_hazard_days` after it opened: a customer alive at the cutoff walks away Exp(hazard) after it
  (the exponential forgets how long they have held on), from one draw per case shared by every scenario.
- `resolve_open_case`: every open case is resolved at the cutoff: its walk-away hazard stops, its badness is
  recomputed as resolved with the contacts, transfers and switches seen so far, and it gets no further contacts.
- `single_owner`: the owner takes over every open case, so the customer's experience of it is as if it had had
  one owner: its badness is recomputed with one contact and no transfers or channel switches (those already made
  included), resolved or not as in the baseline; it gets no further contacts. Both its walk-away hazard and its
  weight on the pressure fall.
- `service_recovery`: for a customer with a contact in the `recovery_window_days` before the cutoff, the badness
  of that latest contact's case (as the baseline has it) is lowered by `recovery_relief`, floored at 0 (and with
  it the case's walk-away hazard, if it stays unresolved).

An action that does not apply to a customer (no open case; no recent contact) changes nothing. What the actions
change is the customer's start at the cutoff (`Start`): the service pressure, the sum over the customer's cases
of (badness - neutral level), each decayed from its opening as the simulator decays it, and the earliest pending
walk-away time (`retain.replay` plays the future from it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.actions import ACTION_NAMES
from retain.errors import RetainError
from retain.ingest import as_table
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
    walk_away_hazard,
    walk_away_time,
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
        if action in ("resolve_open_case", "single_owner"):  # any open case
            which = self.cases["open"].to_numpy(bool)
            return np.bincount(self.cases["customer"].to_numpy(int)[which], minlength=len(self)) > 0
        if action == "service_recovery":
            return self.recent_contact.copy()
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTION_NAMES)})")


def world_at(truth: pd.DataFrame, transactions: ir.Table | pd.DataFrame, interactions: ir.Table | pd.DataFrame,
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
    transactions = as_table(transactions)  # the engine finds the buyers and groups the cases
    buyers = transactions.filter(transactions.timestamp < end.to_pydatetime()).select("customer_id").distinct()
    bought = buyers.to_pyarrow().column("customer_id").to_pandas()
    bought = bought[bought.isin(truth["customer_id"])].unique()
    ids = np.sort(bought.astype(object))
    true = truth.set_index("customer_id").loc[ids]
    cases = observed_cases(interactions, end)
    cases = cases[cases["customer_id"].isin(ids)].reset_index(drop=True)
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
    """Per case, how it ends (in the baseline: ongoing open cases continued, every other case as seen; or under
    an action), and its unit exponential draw for walking away after the cutoff (shared by every scenario)."""

    badness: np.ndarray
    resolved: np.ndarray
    exposure: np.ndarray


@dataclass(frozen=True)
class Start:
    """Per customer at the cutoff: the service pressure and the earliest pending walk-away time (days after the
    cutoff; inf where none)."""

    pressure: np.ndarray
    walk_at: np.ndarray


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
    exposure = rng.exponential(1.0, len(cases))
    ongoing = cases["ongoing"].to_numpy(bool)
    resolved = np.where(ongoing, resolved_later, cases["resolved"].to_numpy(bool))
    badness = np.where(ongoing, case_badness(seen + extra, resolved.astype(float),
                                             cases["transfers"].to_numpy(float) + extra_transfers,
                                             cases["switches"].to_numpy(float) + extra_switches),
                       cases["badness"].to_numpy(float))
    return Continuation(badness=badness, resolved=resolved, exposure=exposure)


def cases_after(world: World, continuation: Continuation, action: str | None,
                treated: np.ndarray) -> Continuation:
    """How each case ends when `action` (None: none) is taken for the `treated` customers (a boolean mask;
    customers it does not apply to are unchanged whatever the mask says)."""
    cases = world.cases
    badness, resolved = continuation.badness.copy(), continuation.resolved.copy()
    if action is not None:
        treated_case = np.asarray(treated, dtype=bool)[cases["customer"].to_numpy()]
        as_seen = [cases[column].to_numpy(float) for column in ("contacts", "transfers", "switches")]
        target = treated_case & cases["open"].to_numpy(bool)
        if action == "resolve_open_case":
            badness[target] = case_badness(as_seen[0], np.ones(len(cases)), as_seen[1], as_seen[2])[target]
            resolved[target] = True
        elif action == "single_owner":
            one, none = np.ones(len(cases)), np.zeros(len(cases))
            badness[target] = case_badness(one, resolved.astype(float), none, none)[target]
        elif action == "service_recovery":
            latest = world.latest_case[np.asarray(treated, dtype=bool) & world.recent_contact]
            badness[latest] = np.maximum(badness[latest] - world.params.recovery_relief, 0.0)
        else:
            raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTION_NAMES)})")
    return Continuation(badness=badness, resolved=resolved, exposure=continuation.exposure)


def cutoff_pressure(world: World, badness: np.ndarray) -> np.ndarray:
    """Per customer, the service pressure at the cutoff from its cases' final badness."""
    weight = (badness - world.params.neutral_badness) * pressure_decay(world.cases["age_days"].to_numpy(float),
                                                                       world.params)
    return np.bincount(world.cases["customer"].to_numpy(int), weights=weight, minlength=len(world))


def cutoff_walk_away(world: World, ends: Continuation) -> np.ndarray:
    """Per customer, the earliest pending walk-away time over a case that stays unresolved (days after the
    cutoff; inf where none)."""
    age = world.cases["age_days"].to_numpy(float)
    at = walk_away_time(np.zeros(len(age)), walk_away_hazard(ends.badness, ends.resolved, world.params),
                        ends.exposure, -age, world.params)
    earliest = np.full(len(world), np.inf)
    np.minimum.at(earliest, world.cases["customer"].to_numpy(int), at)
    return earliest


def start_at_cutoff(world: World, ends: Continuation) -> Start:
    """Each customer's start at the cutoff from how their cases end."""
    return Start(pressure=cutoff_pressure(world, ends.badness), walk_at=cutoff_walk_away(world, ends))
