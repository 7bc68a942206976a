"""Whom to treat, judged on ground truth: rankings by predicted value saved and by value at risk, each treating
its top K customers with their best predicted action in the simulated world, compared on the value that
treating them realizes there (`retain.replay`: revenue with the action minus the baseline, on the same random
numbers).

Pure: one frame in (per customer: the predictions and the replay's outcomes), tables out. Since customers do not
affect one another in the simulated world, the realized value of treating a set of customers is the sum of what
treating each one alone realizes, so one replay per action serves every ranking and every K.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from retain.actions import ACTION_NAMES

SHARES = (0.01, 0.05, 0.10)
RANKINGS = ("value_saved", "value_at_risk")  # what customers are ranked by, best first
NO_ACTION = ""
CHURN_DROPS = ("predicted_churn_drop", "realized_churn_drop")


def realized_value_saved(best_action: pd.Series, outcomes: pd.DataFrame) -> pd.Series:
    """Per customer (the index of `outcomes`, from `retain.replay.replay_actions`): revenue with their best
    predicted action minus the baseline's; 0 for a customer with no action (None or missing)."""
    return _best_action_gain(best_action, outcomes, "revenue", "realized_value_saved")


def realized_churn_drop(best_action: pd.Series, outcomes: pd.DataFrame) -> pd.Series:
    """Per customer: the baseline's churn (share of futures with no purchase in the churn horizon) minus that
    with their best predicted action, the realized counterpart of the model's drop in churn probability."""
    return -_best_action_gain(best_action, outcomes, "churned", "realized_churn_drop")


def predicted_churn_drop(scores: pd.DataFrame) -> pd.Series:
    """Per scored customer: churn probability now minus after their best action (0 without one)."""
    drop = np.zeros(len(scores))
    for name in ACTION_NAMES:
        chosen = (scores["best_action"] == name).to_numpy()
        after = scores[f"churn_probability_after_{name}"].to_numpy(dtype=float, na_value=np.nan)
        drop[chosen] = (scores["churn_probability"].to_numpy(dtype=float) - after)[chosen]
    return pd.Series(drop, index=scores.index, name="predicted_churn_drop")


def _best_action_gain(best_action: pd.Series, outcomes: pd.DataFrame, measure: str, name: str) -> pd.Series:
    """`measure` with each customer's best action minus the baseline's (0 without an action)."""
    action = best_action.reindex(outcomes.index).fillna(NO_ACTION).astype(str)
    unknown = sorted(set(action) - {NO_ACTION, *ACTION_NAMES})
    if unknown:
        raise ValueError(f"unknown best_action value(s) {unknown} (known: {', '.join(ACTION_NAMES)})")
    gain = np.zeros(len(outcomes))
    for action_name in ACTION_NAMES:
        chosen = (action == action_name).to_numpy()
        gain[chosen] = (outcomes[f"{measure}_{action_name}"] - outcomes[f"{measure}_baseline"]).to_numpy()[chosen]
    return pd.Series(gain, index=outcomes.index, name=name)


def ranking(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Row positions of `frame` by `column`, highest first, missing values last, ties by customer id."""
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    ids = frame["customer_id"].astype(str).to_numpy()
    return np.lexsort((ids, np.isnan(values), -np.nan_to_num(values, nan=0.0)))


def treated_count(share: float, customers: int) -> int:
    """How many customers K = `share` of the base is: rounded up, at least one where there is anyone."""
    return min(customers, max(1, math.ceil(share * customers - 1e-9))) if customers else 0


def top_k(frame: pd.DataFrame, shares: Sequence[float] = SHARES) -> pd.DataFrame:
    """Per share K: for each ranking, how many customers are treated, the value saved the model predicts for
    them (their `value_saved`) and the value treating them realizes (`realized_value_saved`), the ratio of the
    two rankings' realized values, and each ranking's predicted / realized.

    `frame`: one row per customer with customer_id, value_saved, value_at_risk and realized_value_saved; with an
    `alive` column (the simulated truth at the cutoff), also the share of each ranking's treated who had already
    left (`gone_<ranking>`): no action can save them, whatever the model says; with predicted_churn_drop and
    realized_churn_drop, their means over each ranking's treated (`<column>_<ranking>`), which say whether a
    miss in value comes from the churn model's effect or from the value a saved customer brings."""
    predicted = frame["value_saved"].to_numpy(dtype=float, na_value=np.nan)
    realized = frame["realized_value_saved"].to_numpy(dtype=float)
    alive = frame["alive"].to_numpy(dtype=bool) if "alive" in frame.columns else None
    drops = {column: frame[column].to_numpy(dtype=float) for column in CHURN_DROPS if column in frame.columns}
    orders = {name: ranking(frame, name) for name in RANKINGS}
    rows = []
    for share in shares:
        k = treated_count(share, len(frame))
        row: dict[str, float] = {"share": share, "customers": k}
        for name, order in orders.items():
            chosen = order[:k]
            row[f"predicted_{name}"] = float(np.nansum(predicted[chosen]))
            row[f"realized_{name}"] = float(realized[chosen].sum())
            row[f"predicted_over_realized_{name}"] = _ratio(row[f"predicted_{name}"], row[f"realized_{name}"])
            if alive is not None:
                row[f"gone_{name}"] = float(1.0 - alive[chosen].mean()) if k else math.nan
            for column, values in drops.items():
                row[f"{column}_{name}"] = float(values[chosen].mean()) if k else math.nan
        row["realized_ratio"] = _ratio(row["realized_value_saved"], row["realized_value_at_risk"])
        rows.append(row)
    return pd.DataFrame(rows)


def qini_curve(frame: pd.DataFrame) -> pd.DataFrame:
    """Cumulative realized value saved against the share of the base treated, after each customer in the order
    of each ranking, and for a random order (its expectation: the share times what treating everyone realizes).
    Starts at (0, 0)."""
    realized = frame["realized_value_saved"].to_numpy(dtype=float)
    share = np.arange(len(frame) + 1) / max(len(frame), 1)
    curve = {"share": share}
    for name in RANKINGS:
        curve[name] = np.concatenate([[0.0], np.cumsum(realized[ranking(frame, name)])])
    curve["random"] = share * realized.sum()
    return pd.DataFrame(curve)


def qini_coefficients(curve: pd.DataFrame) -> dict[str, float]:
    """Per ranking, the area between its Qini curve and the random one (value saved x share of the base)."""
    gap = {name: (curve[name] - curve["random"]).to_numpy() for name in RANKINGS}
    share = curve["share"].to_numpy()
    return {name: float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(share))) for name, values in gap.items()}


def summary_metrics(table: pd.DataFrame, curve: pd.DataFrame) -> dict[str, float]:
    """Flat metric names for tracking: `<measure>_at_<percent>pct` per K, and the Qini coefficients."""
    metrics: dict[str, float] = {}
    for row in table.to_dict("records"):
        percent = f"{row['share'] * 100:g}".replace(".", "_")
        for key, value in row.items():
            if key != "share":
                metrics[f"actions_{key}_at_{percent}pct"] = float(value)
    metrics.update({f"actions_qini_{name}": value for name, value in qini_coefficients(curve).items()})
    return metrics


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan
