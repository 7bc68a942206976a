"""Replaying the simulated future from a cutoff, with and without a retention action (`retain.world` says what
each action does), from the same random numbers, so that the only difference between scenarios is the action.

The future follows the simulator's own mechanics: purchases at the true rate, each may open a service case whose
outcome follows the customer's friction, and after each purchase (once its case has opened) a dropout decision
whose chance rises with the service pressure; a case that ends unresolved adds a pending walk-away time, and the
customer leaves at the earliest one that comes before their next purchase; spend per purchase is Gamma-Gamma.
Every scenario reads the same draws: round r (the r-th purchase after the cutoff) draws its numbers for *all*
customers from `default_rng([seed, replicate, 1, r])`, indexed by customer, and the scenarios are played side by
side on those draws. Replicates are independent futures of the same world: averaged, they give each customer's
expected outcome, which a single future (a customer either stays or leaves) shows only coarsely. An action
changes only the start at the cutoff (pressure and pending walk-away time), so a customer it does not apply to has
exactly the baseline's future. Customers do not affect one another, so a customer's outcome under an action does
not depend on who else is treated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retain.actions import ACTION_NAMES
from retain.simulate import (
    case_difficulty,
    case_outcomes,
    dropout_probability,
    pressure_decay,
    walk_away_hazard,
    walk_away_time,
)
from retain.world import Start, World, cases_after, continue_cases, start_at_cutoff

BASELINE = "baseline"
ROUND_STREAM = 1
DAYS_PER_MONTH = 30.0  # the CLV's month in days (lifetimes' factor), so realized revenue is discounted as CLV is
OPEN_CASE_WITHIN_DAYS = 20.0  # a purchase's case opens before the next purchase and within this (the simulator's)


@dataclass(frozen=True)
class Horizons:
    """How far the future is played: revenue and purchases over `value_days` (discounted by month as the CLV
    is), churn as no purchase within `churn_days`."""

    value_days: float
    churn_days: float
    monthly_discount_rate: float

    @property
    def end(self) -> float:
        return max(self.value_days, self.churn_days)


@dataclass(frozen=True)
class Future:
    """Per scenario (rows, in the order given) and customer (columns): discounted revenue over the value horizon,
    purchases in it, and whether no purchase came within the churn horizon."""

    scenarios: tuple[str, ...]
    revenue: np.ndarray
    purchases: np.ndarray
    churned: np.ndarray


def replay(world: World, starts: Mapping[str, Start], seed: int, horizons: Horizons,
           replicate: int = 0) -> Future:
    """Play the future of every customer once per scenario, each from its own start at the cutoff (`starts`:
    scenario -> per-customer pressure and pending walk-away time), all on the same draws."""
    names = tuple(starts)
    n, params = len(world), world.params
    pressure = np.vstack([np.asarray(starts[name].pressure, dtype=float) for name in names]).reshape(len(names), n)
    walk_at = np.vstack([np.asarray(starts[name].walk_at, dtype=float) for name in names]).reshape(len(names), n)
    pressure_time = np.zeros((len(names), n))
    alive = np.tile(world.alive, (len(names), 1)).copy()
    revenue = np.zeros((len(names), n))
    purchases = np.zeros((len(names), n), dtype=np.int64)
    bought_in_time = np.zeros((len(names), n), dtype=bool)
    lam = world.purchase_rate
    now = np.random.default_rng([seed, replicate, ROUND_STREAM, 0]).exponential(1.0 / lam) if n else np.zeros(0)
    round_number = 0
    alive &= ~(walk_at < now)
    while (alive & (now <= horizons.end)).any():
        round_number += 1
        rng = np.random.default_rng([seed, replicate, ROUND_STREAM, round_number])
        spend = rng.gamma(params.spend_p, 1.0 / world.spend_scale)
        gap = rng.exponential(1.0 / lam)
        chance_of_case = rng.random(n) < world.case_chance
        opened = now + rng.random(n) * np.minimum(gap, OPEN_CASE_WITHIN_DAYS)
        outcome = case_outcomes(case_difficulty(world.friction, rng), rng)
        decide = rng.random(n)
        exposure = rng.exponential(1.0, n)

        buying = alive & (now <= horizons.value_days)
        month = np.ceil(np.minimum(now, horizons.value_days) / DAYS_PER_MONTH)  # month 1: days (0, 30]
        revenue += np.where(buying, spend / (1.0 + horizons.monthly_discount_rate) ** month, 0.0)
        purchases += buying
        bought_in_time |= alive & (now <= horizons.churn_days)

        badness = outcome["badness"]
        has_case = chance_of_case & (walk_at >= opened)  # no case once the customer has walked away
        pressure = np.where(has_case, pressure * pressure_decay(opened - pressure_time, params)
                            + (badness - params.neutral_badness), pressure)
        pressure_time = np.where(has_case, opened, pressure_time)
        walk = walk_away_time(opened, walk_away_hazard(badness, outcome["resolved"], params), exposure, opened,
                              params)
        walk_at = np.where(has_case, np.minimum(walk_at, walk), walk_at)
        decided_at = np.where(has_case, opened, now)
        chance = dropout_probability(world.dropout_probability,
                                     pressure * pressure_decay(decided_at - pressure_time, params),
                                     np.ones(n, dtype=bool), params)
        now = now + gap
        alive &= ~((decide < chance) & (decided_at <= horizons.end)) & ~(walk_at < now)
    return Future(names, revenue, purchases, ~bought_in_time)


def scenario_starts(world: World, seed: int, treated: Mapping[str, np.ndarray] | None = None,
                    replicate: int = 0) -> dict[str, Start]:
    """The start at the cutoff in the baseline and under each action, taken for the customers its mask in
    `treated` marks (default: every customer, i.e. wherever it applies)."""
    continuation = continue_cases(world, seed, replicate)
    everyone = np.ones(len(world), dtype=bool)
    masks = treated if treated is not None else {action: everyone for action in ACTION_NAMES}
    return {BASELINE: start_at_cutoff(world, cases_after(world, continuation, None, everyone)),
            **{action: start_at_cutoff(world, cases_after(world, continuation, action, mask))
               for action, mask in masks.items()}}


def replay_actions(world: World, seed: int, horizons: Horizons, replicates: int = 1) -> pd.DataFrame:
    """One row per customer: whether each action applies, and revenue, purchases and churned in the baseline
    and with each action taken at the cutoff (`<measure>_<scenario>` columns), averaged over `replicates`
    futures (churned: the share of them without a purchase in the churn horizon). Since customers do not
    affect one another, `revenue_<action> - revenue_baseline` is what treating that customer alone with it
    realizes."""
    totals: dict[str, np.ndarray] = {}
    for replicate in range(replicates):
        future = replay(world, scenario_starts(world, seed, replicate=replicate), seed, horizons, replicate)
        for row, name in enumerate(future.scenarios):
            for measure, values in (("revenue", future.revenue), ("purchases", future.purchases),
                                    ("churned", future.churned)):
                key = f"{measure}_{name}"
                totals[key] = totals.get(key, 0.0) + values[row]
    columns: dict[str, np.ndarray] = {f"applies_{action}": world.applies(action) for action in ACTION_NAMES}
    columns.update({key: total / replicates for key, total in totals.items()})
    return pd.DataFrame(columns, index=pd.Index(world.customer_ids, name="customer_id"))
