"""Sample data with known ground truth: the BG/NBD story with a service layer on top.

Each customer buys at rate lambda ~ Gamma(r, alpha) per day and, after each repeat purchase, drops out with
probability min(cap, p * M) where p ~ Beta(a, b) and M = exp(beta * S) is the service-driven hazard multiplier:
S is the sum of recent cases' badness minus a neutral level, decaying with `hazard_memory_days`, so a bad
experience raises the dropout chance for a while and a good one lowers it. A purchase may open a service case
(before the next purchase). A case that ends unresolved also gives the customer a daily hazard of walking away,
`walk_rate x max(badness - neutral, 0)`, for `open_case_hazard_days` after it opened: its walk-away time is drawn
once (opened + Exp(hazard)), and the customer leaves at the earliest pending walk-away time that comes before their
next purchase, so people leave between purchases over a case left open, and a case resolved in time costs nothing.
Spend per purchase follows Gamma-Gamma. Each case's contacts, transfers, channel switches, resolution, surveys and
text all follow from its difficulty. Everything is vectorised over customers (rounds over the purchase index),
deterministic for a seed, and never touches the clock or global random state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from retain.contract import CHANNELS
from retain.phrases import CLOSERS, OPENERS, TONES, TOPICS

DAY = np.timedelta64(1, "D")
# as real CRMs name them: brackets (once fatal to XGBoost feature names) reach every test that trains on samples
SEGMENTS = ("basic", "plus", "premium [legacy]")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES")
HANDLE_SECONDS = {"phone": 420.0, "email": 300.0, "chat": 600.0, "social": 200.0, "self_service": 60.0}


class SimulationParams(BaseModel):
    """Generator parameters, time in days. The defaults are a business with a retention team: customers buy
    every few weeks (rate ~ Gamma(6, 120): one purchase in 20 days on average) and about a fifth of the active
    base stops buying in a quarter, most of it over bad service: a small base dropout chance (Beta(1, 100) per
    purchase) multiplied by exp(6 x recent service pressure), so a bad case weighs on every decision for weeks,
    and a case left unresolved makes the customer walk away at a daily hazard of `walk_rate` x its badness above
    neutral, for `open_case_hazard_days` after it opened. `PRESETS["cdnow"]` is the CDNOW-like world (rare,
    bursty buyers: most of the base looks lapsed at any cutoff)."""

    model_config = ConfigDict(frozen=True)

    r: float = 6.0
    alpha: float = 120.0
    a: float = 1.0
    b: float = 100.0
    spend_p: float = 6.25
    spend_q: float = 3.74
    spend_gamma: float = 15.44
    start: str = "2024-01-01"
    days: int = 730
    signup_days: int | None = None  # acquisition window; None: steadily until the last day, as real logs have
    case_probability: float = 0.3
    hazard_beta: float = 6.0
    hazard_memory_days: float = 60.0
    neutral_badness: float = 0.2
    dropout_cap: float = 0.95
    walk_rate: float = 0.05  # daily walk-away hazard per unit of an unresolved case's badness above neutral
    open_case_hazard_days: float = 90.0  # ... for this many days after the case opened
    cancellation_share: float = 0.3
    open_case_days: float = 30.0
    # The world's rules for the retention actions (`retain.replay`), where a constant is involved:
    case_followup_days: float = 7.0  # an open case whose latest contact is older is over (contacts ~1.5 days apart)
    recovery_relief: float = 0.25  # `service_recovery` lowers the latest case's badness by this (floored at 0)
    recovery_window_days: float = 30.0  # ... for customers with a contact in this many days before the cutoff

    @property
    def acquisition_days(self) -> int:
        """Days over which customers sign up (and buy for the first time), from the start of the period."""
        return self.days if self.signup_days is None else min(self.signup_days, self.days)


PRESETS: dict[str, SimulationParams] = {
    "default": SimulationParams(),
    # near the CDNOW fit (r, alpha, a, b per day), a case after most purchases and cases that drive people away
    "cdnow": SimulationParams(r=0.243, alpha=4.414, a=0.793, b=2.426, case_probability=0.6, hazard_beta=3.0,
                              walk_rate=3.0),
}

MAX_CONTACTS = 8  # per case
CONTACT_GAP_DAYS = 1.5  # mean days between a case's contacts
DIFFICULTY_NOISE = 0.15  # a case's difficulty: the customer's service friction plus this much noise


def case_chance(case_propensity: np.ndarray, params: SimulationParams) -> np.ndarray:
    """Chance that a purchase opens a service case."""
    return np.clip(params.case_probability * case_propensity, 0, 1)


def case_difficulty(friction: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A new case's difficulty in [0, 1]: the customer's friction plus noise."""
    return np.clip(friction + rng.normal(0, DIFFICULTY_NOISE, friction.size), 0, 1)


def more_contacts(difficulty: np.ndarray, room: np.ndarray | int, rng: np.random.Generator) -> np.ndarray:
    """Contacts a case takes beyond one (or beyond those seen so far), at most `room`."""
    return np.minimum(rng.poisson(2.5 * difficulty), room)


def resolves(difficulty: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether a case ends resolved: harder cases less often."""
    return rng.random(difficulty.size) < 1.0 - 0.7 * difficulty


def transfer_rate(difficulty: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """Expected hand-overs over a case's `contacts`."""
    return 0.4 + 1.5 * difficulty * contacts


def switch_chance(difficulty: np.ndarray) -> np.ndarray:
    """Chance that a contact after the first comes through another channel."""
    return np.clip(0.15 + 0.5 * difficulty, 0, 1)


def pressure_decay(days: np.ndarray, params: SimulationParams) -> np.ndarray:
    """How much of a case's weight on the dropout hazard is left `days` after it opened."""
    return np.exp(-days / params.hazard_memory_days)


def case_badness(contacts: np.ndarray, resolved: np.ndarray, transfers: np.ndarray,
                 channel_switches: np.ndarray) -> np.ndarray:
    """How bad a case felt, in [0, 1], from what the interaction log shows of it.

    Shared by the simulator and the reference model, so the best achievable churn score can be computed
    from observable history plus the true parameters.
    """
    raw = (0.4 * (1 - resolved) + 0.12 * (contacts - 1) + 0.05 * transfers + 0.08 * channel_switches)
    return np.clip(raw, 0.0, 1.0)


def dropout_probability(p: np.ndarray, pressure: np.ndarray, repeat: np.ndarray,
                        params: SimulationParams) -> np.ndarray:
    """Chance to leave after a repeat purchase (the BG/NBD dropout), decided once the purchase's service case (if
    any) has opened: p * M with M = exp(beta * S) raised by recent bad cases (S is the decayed pressure then)."""
    return np.where(repeat, np.minimum(params.dropout_cap, p * np.exp(params.hazard_beta * pressure)), 0.0)


def walk_away_hazard(badness: np.ndarray, resolved: np.ndarray, params: SimulationParams) -> np.ndarray:
    """Daily hazard of walking away over a case: only while it is unresolved, growing with how bad it is."""
    excess = np.maximum(np.asarray(badness, dtype=float) - params.neutral_badness, 0.0)
    return np.where(np.asarray(resolved, dtype=bool), 0.0, params.walk_rate * excess)


def walk_away_time(since: np.ndarray, hazard: np.ndarray, exposure: np.ndarray, opened: np.ndarray,
                   params: SimulationParams) -> np.ndarray:
    """When the customer would walk away over a case: `since` + Exp(hazard) from one unit exponential draw per
    case (`exposure`, so scenarios sharing it stay coupled), inf without a hazard or past `open_case_hazard_days`
    after the case `opened` (the exponential forgets, so `since` may be any time the customer was still there)."""
    with np.errstate(divide="ignore"):
        at = np.asarray(since, dtype=float) + np.where(hazard > 0, exposure / np.maximum(hazard, 1e-300), np.inf)
    return np.where(at <= np.asarray(opened, dtype=float) + params.open_case_hazard_days, at, np.inf)


@dataclass
class SampleData:
    """The generated tables (contract shaped) and the ground truth (None for real data)."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    interactions: pd.DataFrame
    truth: pd.DataFrame | None

    def first(self, n: int) -> SampleData:
        """The first `n` customers with their events and truth (benchmarks train champions on such a subset)."""
        ids = set(self.customers["customer_id"].iloc[:n])

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["customer_id"].isin(ids)]

        return SampleData(keep(self.customers), keep(self.transactions), keep(self.interactions),
                          None if self.truth is None else keep(self.truth))


@dataclass
class _Events:
    """Purchases and case openings collected round by round, as parallel arrays."""

    purchase_customer: list[np.ndarray]
    purchase_time: list[np.ndarray]
    case_customer: list[np.ndarray]
    case_time: list[np.ndarray]
    case_difficulty: list[np.ndarray]
    case_outcomes: list[dict[str, np.ndarray]]


def _customer_draws(n: int, params: SimulationParams, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "purchase_rate": rng.gamma(params.r, 1.0 / params.alpha, n),
        "dropout_probability": rng.beta(params.a, params.b, n),
        "spend_scale": rng.gamma(params.spend_q, 1.0 / params.spend_gamma, n),
        "signup": rng.uniform(0, params.acquisition_days, n),
        "case_propensity": rng.gamma(2.0, 0.5, n),
        "service_friction": rng.beta(2.0, 5.0, n),
        "temper": rng.normal(0.0, 1.0, n),
    })


def case_outcomes(difficulty: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per case: contacts, resolution, reopen, transfers, channel switches and its badness."""
    n = difficulty.size
    contacts = 1 + more_contacts(difficulty, MAX_CONTACTS - 1, rng)
    resolved = resolves(difficulty, rng)
    reopened = resolved & (contacts >= 2) & (rng.random(n) < 0.3)
    transfers = rng.poisson(transfer_rate(difficulty, contacts))
    switches = rng.binomial(contacts - 1, switch_chance(difficulty))
    return {"contacts": contacts, "resolved": resolved, "reopened": reopened, "transfers": transfers,
            "switches": switches,
            "badness": case_badness(contacts, resolved.astype(float), transfers, switches)}


def _simulate_purchases(draws: pd.DataFrame, params: SimulationParams,
                        rng: np.random.Generator) -> tuple[_Events, np.ndarray, np.ndarray]:
    """Rounds over the purchase index: all live customers advance one purchase per round."""
    n = len(draws)
    lam = draws["purchase_rate"].to_numpy()
    p = draws["dropout_probability"].to_numpy()
    friction = draws["service_friction"].to_numpy()
    chance_of_case = case_chance(draws["case_propensity"].to_numpy(), params)
    pressure = np.zeros(n)
    pressure_time = draws["signup"].to_numpy().copy()
    dropout_at = np.full(n, np.nan)
    walk_at = np.full(n, np.inf)  # earliest pending walk-away time over an unresolved case
    multiplier = np.ones(n)
    active = np.arange(n)
    now = draws["signup"].to_numpy().copy()
    events = _Events([active.copy()], [now.copy()], [], [], [], [])
    repeat = np.zeros(n, dtype=bool)
    while active.size:
        t = now[active]
        gap = rng.exponential(1.0 / lam[active])
        opened_all = t + rng.random(active.size) * np.minimum(gap, 20.0)
        has_case = (rng.random(active.size) < chance_of_case[active]) & (walk_at[active] >= opened_all)
        exposure = rng.exponential(1.0, active.size)
        who = active[has_case]
        opened = opened_all[has_case]
        difficulty = case_difficulty(friction[who], rng)
        outcome = case_outcomes(difficulty, rng)
        decay = pressure_decay(opened - pressure_time[who], params)
        pressure[who] = pressure[who] * decay + (outcome["badness"] - params.neutral_badness)
        pressure_time[who] = opened
        hazard = walk_away_hazard(outcome["badness"], outcome["resolved"], params)
        walk_at[who] = np.minimum(walk_at[who], walk_away_time(opened, hazard, exposure[has_case], opened, params))
        events.case_customer.append(who)
        events.case_time.append(opened)
        events.case_difficulty.append(difficulty)
        events.case_outcomes.append(outcome)

        decided_at = np.where(has_case, opened_all, t)
        pressure_now = pressure[active] * pressure_decay(decided_at - pressure_time[active], params)
        chance = dropout_probability(p[active], pressure_now, repeat[active], params)
        multiplier[active] = chance / np.maximum(p[active], 1e-12)
        died = (rng.random(active.size) < chance) & (decided_at <= params.days)
        next_time = t + gap
        walked = ~died & (walk_at[active] < next_time) & (walk_at[active] <= params.days)
        dropout_at[active[died]] = decided_at[died]
        dropout_at[active[walked]] = walk_at[active[walked]]

        keep = ~died & ~walked & (next_time <= params.days)
        active, next_time = active[keep], next_time[keep]
        now[active] = next_time
        repeat[active] = True
        events.purchase_customer.append(active.copy())
        events.purchase_time.append(next_time)
    return events, dropout_at, multiplier


def _timestamps(start: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Day offsets from `start` as timestamps, to the second."""
    return start + (np.asarray(days) * 86_400).astype("int64").astype("timedelta64[s]")


def _contacts(events: _Events, draws: pd.DataFrame, params: SimulationParams,
              rng: np.random.Generator) -> pd.DataFrame:
    """Expand cases into contact rows, consistent with each case's drawn outcome."""
    case_customer = np.concatenate(events.case_customer)
    case_open = np.concatenate(events.case_time)
    outcome = {key: np.concatenate([o[key] for o in events.case_outcomes]) for key in events.case_outcomes[0]}
    n_cases = case_customer.size
    contacts = outcome["contacts"]
    case_of = np.repeat(np.arange(n_cases), contacts)
    first_row = np.cumsum(contacts) - contacts
    index_in_case = np.arange(case_of.size) - first_row[case_of]
    last = index_in_case == contacts[case_of] - 1

    gaps = np.where(index_in_case == 0, 0.0, rng.exponential(CONTACT_GAP_DAYS, case_of.size))
    opened = case_open[case_of] + (np.cumsum(gaps) - np.cumsum(gaps)[first_row][case_of])

    transition_rank = pd.Series(rng.random(case_of.size)).where(index_in_case > 0)
    transition_rank = transition_rank.groupby(case_of).rank(method="first").to_numpy()
    switched = transition_rank <= outcome["switches"][case_of]
    first_channel = rng.choice(len(CHANNELS), n_cases, p=[0.35, 0.25, 0.25, 0.05, 0.10])
    hop = rng.integers(1, len(CHANNELS), case_of.size) * switched
    channel_code = (first_channel[case_of] + pd.Series(hop).groupby(case_of).cumsum().to_numpy()) % len(CHANNELS)
    channel = np.asarray(CHANNELS, dtype=object)[channel_code]

    transfers = np.bincount(
        first_row[np.repeat(np.arange(n_cases), outcome["transfers"])]
        + (rng.random(outcome["transfers"].sum()) * contacts.repeat(outcome["transfers"])).astype(int),
        minlength=case_of.size,
    )
    resolved_case = outcome["resolved"][case_of]
    reopen_at = (rng.random(n_cases) * np.maximum(contacts - 1, 1)).astype(int)
    resolved = (last & resolved_case) | (outcome["reopened"][case_of] & (index_in_case == reopen_at[case_of]))

    difficulty = np.concatenate(events.case_difficulty)[case_of]
    base_handle = np.vectorize(HANDLE_SECONDS.get)(channel).astype(float)
    handle = np.round(base_handle * (1 + difficulty) * rng.lognormal(0, 0.4, case_of.size), 1)
    waiting = np.where(np.isin(channel, ("email", "social")), rng.exponential(0.5, case_of.size), 0.0)
    closed = opened + handle / 86_400 + waiting
    still_open = last & ~resolved_case & (opened > params.days - params.open_case_days)
    closed = np.where(still_open | (closed > params.days), np.nan, closed)
    keep = opened <= params.days

    customer = case_customer[case_of]
    mood = (outcome["badness"][case_of] + 0.08 * index_in_case + 0.15 * draws["temper"].to_numpy()[customer]
            + rng.normal(0, 0.12, case_of.size))
    tone = np.digitize(mood, (0.1, 0.35, 0.6))
    text = _texts(tone, resolved, rng)
    surveyed = last & (rng.random(case_of.size) < 0.3)
    badness = outcome["badness"][case_of]
    ces = np.where(surveyed, np.clip(np.round(6.5 - 5 * badness + rng.normal(0, 0.8, case_of.size)), 1, 7), np.nan)
    csat_asked = last & (rng.random(case_of.size) < 0.2)
    csat = np.where(csat_asked, np.clip(np.round(4.8 - 3.5 * badness + rng.normal(0, 0.6, case_of.size)), 1, 5),
                    np.nan)
    nps_asked = last & (rng.random(case_of.size) < 0.1)
    nps = np.where(nps_asked, np.clip(np.round(9 - 7 * badness + rng.normal(0, 1.5, case_of.size)), 0, 10), np.nan)

    frame = pd.DataFrame({
        "customer": customer, "case": case_of, "opened": opened, "closed": closed, "channel": channel,
        "resolved": resolved, "transfers": transfers, "handle_seconds": handle, "ces": ces, "csat": csat,
        "nps": nps, "text": text,
    })[keep]
    return frame.sort_values(["opened", "case"], kind="stable").reset_index(drop=True)


def _texts(tone: np.ndarray, resolved: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Compose opener + topic + closer; the closer of a resolving contact is milder."""
    n = tone.size
    openers = np.empty(n, dtype=object)
    closers = np.empty(n, dtype=object)
    closer_tone = np.where(resolved, np.maximum(tone - 1, 0), tone)
    for code, name in enumerate(TONES):
        pool = np.asarray(OPENERS[name], dtype=object)
        mask = tone == code
        openers[mask] = pool[rng.integers(0, pool.size, mask.sum())]
        pool = np.asarray(CLOSERS[name], dtype=object)
        mask = closer_tone == code
        closers[mask] = pool[rng.integers(0, pool.size, mask.sum())]
    topics = np.asarray(TOPICS, dtype=object)[rng.integers(0, len(TOPICS), n)]
    text = openers + " " + topics + " " + closers
    text[rng.random(n) < 0.1] = None
    return text


def generate(n_customers: int, seed: int, params: SimulationParams | None = None) -> SampleData:
    """Simulate `n_customers` customers; the same seed gives the same data."""
    params = params or SimulationParams()
    rng = np.random.default_rng(seed)
    draws = _customer_draws(n_customers, params, rng)
    events, dropout_at, multiplier = _simulate_purchases(draws, params, rng)
    start = np.datetime64(params.start, "s")
    ids = np.char.add("C", np.char.zfill(np.arange(1, n_customers + 1).astype(str), 7)).astype(object)

    purchase_customer = np.concatenate(events.purchase_customer)
    purchase_time = np.concatenate(events.purchase_time)
    order = np.lexsort((purchase_customer, purchase_time))
    purchase_customer, purchase_time = purchase_customer[order], purchase_time[order]
    spend_scale = draws["spend_scale"].to_numpy()[purchase_customer]
    transactions = pd.DataFrame({
        "customer_id": ids[purchase_customer],
        "timestamp": _timestamps(start, purchase_time),
        "amount": np.round(rng.gamma(params.spend_p, 1.0 / spend_scale), 2),
        "order_id": np.char.add("O", np.arange(1, order.size + 1).astype(str)).astype(object),
    })

    contacts = _contacts(events, draws, params, rng)
    interactions = pd.DataFrame({
        "interaction_id": np.char.add("I", np.arange(1, len(contacts) + 1).astype(str)).astype(object),
        "customer_id": ids[contacts["customer"].to_numpy()],
        "case_id": np.char.add("K", (contacts["case"].to_numpy() + 1).astype(str)).astype(object),
        "opened_at": _timestamps(start, contacts["opened"].to_numpy()),
        "closed_at": pd.to_datetime(_timestamps(start, np.nan_to_num(contacts["closed"].to_numpy())))
        .where(contacts["closed"].notna().to_numpy()),
        "channel": contacts["channel"].to_numpy(),
        "resolved": contacts["resolved"].to_numpy(),
        "transfers": contacts["transfers"].to_numpy().astype("int64"),
        "handle_seconds": contacts["handle_seconds"].to_numpy(),
        "ces": pd.array(contacts["ces"].to_numpy(), dtype="Int64"),
        "csat": pd.array(contacts["csat"].to_numpy(), dtype="Int64"),
        "nps": pd.array(contacts["nps"].to_numpy(), dtype="Int64"),
        "text": contacts["text"].to_numpy(),
    })

    dropout_ts = pd.Series(_timestamps(start, np.nan_to_num(dropout_at))).where(~np.isnan(dropout_at))
    cancels = ~np.isnan(dropout_at) & (rng.random(n_customers) < params.cancellation_share)
    churn_day = dropout_at + rng.uniform(0, 14, n_customers)
    churned_at = pd.Series(_timestamps(start, np.floor(np.nan_to_num(churn_day)))).where(
        cancels & (churn_day <= params.days))
    customers = pd.DataFrame({
        "customer_id": ids,
        "signup_date": _timestamps(start, np.floor(draws["signup"].to_numpy())).astype("datetime64[s]"),
        "segment": np.asarray(SEGMENTS, dtype=object)[rng.choice(3, n_customers, p=[0.6, 0.3, 0.1])],
        "country": np.asarray(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), n_customers)],
        "churned_at": churned_at.to_numpy(),
    })
    truth = pd.DataFrame({
        "customer_id": ids,
        "purchase_rate": draws["purchase_rate"].to_numpy(),
        "dropout_probability": draws["dropout_probability"].to_numpy(),
        "spend_scale": draws["spend_scale"].to_numpy(),
        "temper": draws["temper"].to_numpy(),
        "case_propensity": draws["case_propensity"].to_numpy(),
        "service_friction": draws["service_friction"].to_numpy(),
        "dropout_at": dropout_ts.to_numpy(),
        "hazard_multiplier": multiplier,
    })
    truth.attrs["simulation"] = params.model_dump_json()
    return SampleData(customers, transactions, interactions, truth)

