"""How good a CLV model is: fit on a calibration period, predict the following holdout period, and compare.

Transactions become integer day/period numbers first, so the calibration RFM and the holdout outcomes are
computed vectorised (matching lifetimes' calibration_and_holdout_data, which fails on pandas 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.clv import ClvModel, TimeUnit
from training.clv import DEFAULT_PENALIZERS, fit_clv
from training.metrics import mae, relative_aggregate_error, rmse


def purchase_periods(transactions: pd.DataFrame, unit: TimeUnit) -> pd.DataFrame:
    """Each transaction's day and period as integers (days since 1970-01-01; Monday-based weeks for "W"):
    the periods lifetimes' `to_period(freq)` gives, as plain integers so everything after is vectorised."""
    missing = [c for c in ("customer_id", "timestamp", "amount") if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack columns {missing}")
    stamps = pd.to_datetime(transactions["timestamp"], format="ISO8601")  # the contract: ISO 8601
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    day = stamps.to_numpy().astype("datetime64[D]").astype(np.int64)
    period = day if unit == "D" else (day + 3) // 7  # 1969-12-29, a Monday, is day -3
    return pd.DataFrame({"customer_id": transactions["customer_id"].to_numpy(), "day": day,
                         "period": period, "amount": transactions["amount"].to_numpy(dtype=float)})


def _day(value: object) -> int:
    return int(np.datetime64(pd.Timestamp(value).date(), "D").astype(np.int64))


def _period(day: int, unit: TimeUnit) -> int:
    return day if unit == "D" else (day + 3) // 7


def _per_period(events: pd.DataFrame) -> pd.DataFrame:
    """Several purchases in one period count as one purchase period with their summed spend (lifetimes)."""
    return events.groupby(["customer_id", "period"], sort=False)["amount"].sum().reset_index()


def calibration_holdout(transactions: pd.DataFrame, calibration_end: object, holdout_end: object,
                        unit: TimeUnit) -> pd.DataFrame:
    """Calibration RFM of customers who bought by the end of day `calibration_end`, with their holdout
    purchase periods (frequency_holdout), spend (spend_holdout, monetary_value_holdout = spend per holdout
    period) in the days after it up to the end of `holdout_end`, and duration_holdout in units.

    Matches lifetimes' calibration_and_holdout_data(freq=unit) for day-stamped data, computed vectorised
    because that function fails on pandas 3 without a monetary column.
    """
    events = purchase_periods(transactions, unit)
    cal_day, hold_day = _day(calibration_end), _day(holdout_end)
    if hold_day <= cal_day:
        raise ValueError("holdout_end must be after calibration_end")
    cal = _per_period(events[events["day"] <= cal_day])
    first = cal.groupby("customer_id")["period"].transform("min")
    cal["repeat_spend"] = cal["amount"].where(cal["period"] != first, 0.0)
    per = cal.groupby("customer_id").agg(n=("period", "size"), first=("period", "min"),
                                         last=("period", "max"), repeat_spend=("repeat_spend", "sum"))
    repeats = per["n"] - 1
    frame = pd.DataFrame({
        "frequency": repeats.astype(float),
        "recency": (per["last"] - per["first"]).astype(float),
        "T": (_period(cal_day, unit) - per["first"]).astype(float),
        "monetary_value": (per["repeat_spend"] / repeats.where(repeats > 0)).fillna(0.0),
    })
    hold = _per_period(events[(events["day"] > cal_day) & (events["day"] <= hold_day)])
    held = hold.groupby("customer_id").agg(frequency_holdout=("period", "size"),
                                           spend_holdout=("amount", "sum"))
    frame = frame.join(held, how="left").fillna({"frequency_holdout": 0.0, "spend_holdout": 0.0})
    frame["frequency_holdout"] = frame["frequency_holdout"].astype(float)
    frame["monetary_value_holdout"] = (frame["spend_holdout"] / frame["frequency_holdout"].where(
        frame["frequency_holdout"] > 0)).fillna(0.0)
    frame["duration_holdout"] = float(_period(hold_day, unit) - _period(cal_day, unit))
    frame.index.name = "customer_id"
    return frame


def holdout_metrics(model: ClvModel, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Predictions for the holdout next to what happened, and the errors: per-customer MAE/RMSE and relative
    aggregate error of purchase periods, MAE of mean spend per period among calibration repeat buyers who
    bought in the holdout, and relative aggregate error of total holdout spend."""
    out = frame.copy()
    out["predicted_purchases"] = model.expected_purchases(frame, frame["duration_holdout"].to_numpy())
    out["predicted_spend"] = model.expected_spend(frame)
    spenders = out[(out["frequency"] > 0) & (out["monetary_value"] > 0) & (out["frequency_holdout"] > 0)]
    nan = float("nan")
    predicted_total_spend = out["predicted_purchases"] * out["predicted_spend"]
    metrics = {
        "customers": float(len(out)),
        "purchases_mae": mae(out["frequency_holdout"], out["predicted_purchases"]),
        "purchases_rmse": rmse(out["frequency_holdout"], out["predicted_purchases"]),
        "purchases_actual_total": float(out["frequency_holdout"].sum()),
        "purchases_predicted_total": float(out["predicted_purchases"].sum()),
        "purchases_aggregate_error": relative_aggregate_error(out["frequency_holdout"],
                                                              out["predicted_purchases"]),
        "spend_customers": float(len(spenders)),
        "spend_mae": mae(spenders["monetary_value_holdout"], spenders["predicted_spend"]) if len(spenders)
        else nan,
        "spend_actual_total": float(out["spend_holdout"].sum()),
        "spend_predicted_total": float(predicted_total_spend.sum()),
        "spend_aggregate_error": relative_aggregate_error(out["spend_holdout"], predicted_total_spend),
    }
    return out, metrics


@dataclass(frozen=True)
class ClvEvaluation:
    """A model fitted on the calibration period, its per-customer holdout frame and the holdout metrics."""

    model: ClvModel
    frame: pd.DataFrame
    metrics: dict[str, float]


def evaluate_clv(transactions: pd.DataFrame, calibration_end: object, holdout_end: object, unit: TimeUnit,
                 penalizers: Sequence[float] = DEFAULT_PENALIZERS) -> ClvEvaluation:
    """Fit on the calibration period and score the predictions against the holdout period."""
    frame = calibration_holdout(transactions, calibration_end, holdout_end, unit)
    model = fit_clv(frame, unit, penalizers)
    scored, metrics = holdout_metrics(model, frame)
    return ClvEvaluation(model=model, frame=scored, metrics=metrics)
