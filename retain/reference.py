"""The best achievable churn score on simulated data, from the true parameters and the observed history.

A model that knew each customer's true purchase rate, dropout chance and the simulator's service-hazard rule,
and saw only events up to the cutoff, would score P(no purchase in the horizon) as computed here; its AUC is
the ceiling a real model is judged against. The clairvoyant score, which also knows the true dropout time,
is a looser bound, reported separately so the two are never confused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retain.simulate import SimulationParams, case_badness, dropout_probability

DAY = pd.Timedelta(days=1)


def simulation_params(truth: pd.DataFrame) -> SimulationParams:
    """The parameters the truth file was generated with (stored in its metadata)."""
    stored = truth.attrs.get("simulation")
    return SimulationParams.model_validate_json(stored) if stored else SimulationParams()


def _case_pressure(interactions: pd.DataFrame, last_purchase: pd.Series, as_of: pd.Timestamp,
                   params: SimulationParams) -> pd.Series:
    """Decayed service pressure S at each customer's last purchase, from cases opened before it."""
    seen = interactions[interactions["opened_at"] <= as_of].sort_values("opened_at", kind="stable")
    if seen.empty:
        return pd.Series(0.0, index=last_purchase.index)
    switched = seen["channel"].ne(seen.groupby("case_id")["channel"].shift()) & seen["case_id"].duplicated()
    cases = seen.assign(switched=switched).groupby("case_id").agg(
        customer_id=("customer_id", "first"), opened=("opened_at", "min"), contacts=("interaction_id", "size"),
        resolved=("resolved", "any"), transfers=("transfers", "sum"), switches=("switched", "sum"),
    )
    cases["badness"] = case_badness(cases["contacts"].to_numpy(), cases["resolved"].to_numpy(float),
                                    cases["transfers"].to_numpy(float), cases["switches"].to_numpy(float))
    cases = cases.join(last_purchase.rename("last_purchase"), on="customer_id", how="inner")
    cases = cases[cases["opened"] < cases["last_purchase"]]
    age_days = (cases["last_purchase"] - cases["opened"]) / DAY
    cases["pressure"] = (cases["badness"] - params.neutral_badness) * np.exp(-age_days / params.hazard_memory_days)
    return cases.groupby("customer_id")["pressure"].sum().reindex(last_purchase.index, fill_value=0.0)


def best_achievable_churn_probability(truth: pd.DataFrame, transactions: pd.DataFrame,
                                      interactions: pd.DataFrame, as_of: pd.Timestamp,
                                      horizon_days: int) -> pd.Series:
    """P(no purchase in (as_of, as_of + horizon]) per customer who had bought by `as_of`."""
    params = simulation_params(truth)
    as_of = pd.Timestamp(as_of)
    seen = transactions[transactions["timestamp"] <= as_of]
    history = seen.groupby("customer_id")["timestamp"].agg(["size", "max"])
    pressure = _case_pressure(interactions, history["max"], as_of, params)
    true = truth.set_index("customer_id").loc[history.index]
    rate = true["purchase_rate"].to_numpy()
    p_last = dropout_probability(true["dropout_probability"].to_numpy(), pressure.to_numpy(), params)
    idle_days = ((as_of - history["max"]) / DAY).to_numpy()
    with np.errstate(over="ignore", divide="ignore"):
        odds_dead = np.where(history["size"].to_numpy() > 1,
                             p_last / (1 - p_last) * np.exp(rate * idle_days), 0.0)
    p_alive = 1.0 / (1.0 + odds_dead)
    return pd.Series(1.0 - p_alive * (1.0 - np.exp(-rate * horizon_days)), index=history.index,
                     name="best_achievable")


def clairvoyant_churn_probability(truth: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """P(no purchase in the horizon) for someone who also knows whether the customer has dropped out."""
    true = truth.set_index("customer_id")
    dead = true["dropout_at"].notna() & (true["dropout_at"] <= pd.Timestamp(as_of))
    alive_score = np.exp(-true["purchase_rate"] * horizon_days)
    return alive_score.where(~dead, 1.0).rename("clairvoyant")


def churn_labels(customers: pd.DataFrame, transactions: pd.DataFrame, as_of: pd.Timestamp,
                 horizon_days: int) -> pd.Series:
    """1 if a customer makes no purchase in (as_of, as_of + horizon] or cancels in it, else 0."""
    as_of = pd.Timestamp(as_of)
    end = as_of + pd.Timedelta(days=horizon_days)
    window = transactions[(transactions["timestamp"] > as_of) & (transactions["timestamp"] <= end)]
    bought = customers["customer_id"].isin(window["customer_id"])
    cancelled = customers["churned_at"].notna() & (customers["churned_at"] > as_of) & (customers["churned_at"] <= end)
    return pd.Series((~bought | cancelled).astype(int).to_numpy(), index=customers["customer_id"], name="churned")
