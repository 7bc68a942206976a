"""The best achievable churn score on simulated data, from the true parameters and the observed history.

A model that knew each customer's true purchase rate, dropout chance and the simulator's service-hazard rule,
and saw only events up to the cutoff, would score P(no purchase in the horizon) as computed here; its AUC is
the ceiling a real model is judged against. The clairvoyant score, which also knows the true dropout time,
is a looser bound, reported separately so the two are never confused.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from retain.ingest import as_table
from retain.simulate import SimulationParams, case_badness, dropout_probability, pressure_decay, walk_away_hazard

DAY = pd.Timedelta(days=1)


def simulation_params(truth: pd.DataFrame) -> SimulationParams:
    """The parameters the truth file was generated with (stored in its metadata)."""
    stored = truth.attrs.get("simulation")
    return SimulationParams.model_validate_json(stored) if stored else SimulationParams()


def observed_cases(interactions: ir.Table | pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Cases opened before `as_of` (a moment) with their badness, computed from their contacts as the log shows
    them, when their latest contact was, and whether they are open: that contact did not resolve them by then
    (a contact's outcome counts once it is closed, as the features read it). The engine groups the contacts
    into cases; one row a case comes back, sorted by customer and case."""
    table = as_table(interactions)
    moment = pd.Timestamp(as_of).to_pydatetime()
    seen = table.filter(table.opened_at < moment)
    case = [seen.customer_id, seen.case_id]  # case ids need only be unique per customer
    previous = seen.channel.lag().over(ibis.window(group_by=case, order_by=[seen.opened_at, seen.interaction_id]))
    settled = seen.resolved.fill_null(False) & (seen.closed_at < moment).fill_null(False)
    seen = seen.mutate(switched=(previous.notnull() & (seen.channel != previous)).cast("int64"),
                       settled=settled.cast("int64"))
    cases = seen.group_by(["customer_id", "case_id"]).aggregate(
        opened=seen.opened_at.min(), last_contact=seen.opened_at.max(), contacts=seen.count(),
        resolved=seen.resolved.any(), transfers=seen.transfers.sum(), switches=seen.switched.sum(),
        settled=seen.settled.argmax(seen.opened_at),
    ).to_pyarrow().to_pandas().sort_values(["customer_id", "case_id"], ignore_index=True)
    for column in ("opened", "last_contact"):
        cases[column] = cases[column].astype("datetime64[us]")
    cases["open"] = ~cases.pop("settled").astype(bool)
    cases["badness"] = case_badness(cases["contacts"].to_numpy(), cases["resolved"].to_numpy(float),
                                    cases["transfers"].to_numpy(float), cases["switches"].to_numpy(float))
    return cases


def _last_decision(cases: pd.DataFrame, last_purchase: pd.Series,
                   params: SimulationParams) -> tuple[pd.Series, pd.Series]:
    """(decayed pressure S, badness of the purchase's own case or NaN) at each customer's last decision.

    The decision after the last purchase waits for the case that purchase opened, if one is seen by the
    cutoff; S sums the cases opened by then.
    """
    cases = cases.reset_index(drop=True).merge(
        last_purchase.rename("last_purchase").rename_axis("customer_id").reset_index(), on="customer_id")
    own = (cases[cases["opened"] > cases["last_purchase"]].sort_values("opened")
           .drop_duplicates("customer_id").set_index("customer_id"))
    decided_at = own["opened"].reindex(last_purchase.index).fillna(last_purchase)
    cases = cases.merge(decided_at.rename("decided_at").rename_axis("customer_id").reset_index(), on="customer_id")
    cases = cases[cases["opened"] <= cases["decided_at"]]
    age_days = (cases["decided_at"] - cases["opened"]) / DAY
    cases["pressure"] = (cases["badness"] - params.neutral_badness) * pressure_decay(age_days.to_numpy(), params)
    pressure = cases.groupby("customer_id")["pressure"].sum().reindex(last_purchase.index, fill_value=0.0)
    return pressure, own["badness"].reindex(last_purchase.index)


def _walk_away_exposure(cases: pd.DataFrame, last_purchase: pd.Series, end: pd.Timestamp,
                        params: SimulationParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per customer, from the cases open at `end` (taken to stay unresolved): the summed walk-away hazard, when
    its exposure started after the last purchase and how long it lasted by `end` (days), and how long it goes on
    after `end`."""
    cases = cases[cases["open"].to_numpy(bool)].merge(
        last_purchase.rename("last_purchase").rename_axis("customer_id").reset_index(), on="customer_id")
    hazard = walk_away_hazard(cases["badness"].to_numpy(float), np.zeros(len(cases), dtype=bool), params)
    start = cases["opened"].where(cases["opened"] > cases["last_purchase"], cases["last_purchase"])
    stop = cases["opened"] + pd.Timedelta(days=params.open_case_hazard_days)
    frame = pd.DataFrame({
        "customer_id": cases["customer_id"], "hazard": hazard,
        "lag": ((start - cases["last_purchase"]) / DAY).to_numpy(float),
        "before": np.clip(((stop.where(stop < end, end) - start) / DAY).to_numpy(float), 0, None),
        "after": np.clip(((stop - end) / DAY).to_numpy(float), 0, None),
    })
    frame = frame[frame["hazard"] > 0].groupby("customer_id").agg(
        hazard=("hazard", "sum"), lag=("lag", "min"), before=("before", "max"), after=("after", "max"))
    frame = frame.reindex(last_purchase.index, fill_value=0.0)
    return tuple(frame[column].to_numpy(float) for column in ("hazard", "lag", "before", "after"))  # type: ignore[return-value]


def best_achievable_churn_probability(truth: pd.DataFrame, transactions: ir.Table | pd.DataFrame,
                                      interactions: ir.Table | pd.DataFrame, as_of: pd.Timestamp,
                                      horizon_days: int) -> pd.Series:
    """P(no purchase in the horizon after the day `as_of`) per simulated customer who had bought by then
    (customers added to the log by hand have no true parameters and are left out). It weighs the dropout after
    the last purchase and the walk-away hazard of the cases open at the cutoff (taken to stay unresolved, their
    hazards summed over the longest exposure: an approximation of the world's rule). The engine aggregates the
    tables to one row a customer and a case."""
    params = simulation_params(truth)
    end = pd.Timestamp(as_of) + DAY
    transactions = as_table(transactions)
    seen = transactions.filter(transactions.timestamp < end.to_pydatetime())
    history = seen.group_by("customer_id").aggregate(size=seen.count(), max=seen.timestamp.max())
    history = history.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    history = history[history.index.isin(truth["customer_id"])]
    history["max"] = history["max"].astype("datetime64[us]")
    cases = observed_cases(interactions, end)
    pressure, _ = _last_decision(cases, history["max"], params)
    true = truth.set_index("customer_id").loc[history.index]
    rate = true["purchase_rate"].to_numpy()
    left = dropout_probability(true["dropout_probability"].to_numpy(), pressure.to_numpy(),
                               history["size"].to_numpy() > 1, params)
    idle_days = ((end - history["max"]) / DAY).to_numpy()
    hazard, lag, before, after = _walk_away_exposure(cases, history["max"], end, params)
    both = hazard + rate
    # likelihoods of "no purchase since the last one": alive, gone at the decision, walked away before buying
    alive = (1 - left) * np.exp(-rate * idle_days - hazard * before)
    walked = (1 - left) * np.exp(-rate * lag) * hazard / both * (1 - np.exp(-both * before))
    with np.errstate(invalid="ignore"):
        p_alive = np.nan_to_num(alive / (alive + walked + left), nan=0.0)
    # alive at the cutoff: the next purchase must come within the horizon and before any walk-away
    exposed = np.minimum(after, horizon_days)
    buys = (rate / both * (1 - np.exp(-both * exposed))
            + np.exp(-both * exposed) * (1 - np.exp(-rate * (horizon_days - exposed))))
    return pd.Series(1.0 - p_alive * buys, index=history.index, name="best_achievable")


def clairvoyant_churn_probability(truth: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """P(no purchase in the horizon) for someone who also knows whether the customer has dropped out."""
    true = truth.set_index("customer_id")
    dead = true["dropout_at"].notna() & (true["dropout_at"] < pd.Timestamp(as_of) + DAY)
    alive_score = np.exp(-true["purchase_rate"] * horizon_days)
    return alive_score.where(~dead, 1.0).rename("clairvoyant")
