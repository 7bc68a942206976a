"""How good a CLV model is: fit on a calibration period, predict the following holdout period, and compare.

The calibration RFM is `features.rfm.rfm_features` at the calibration cutoff, the very expression the feature
table (and so scoring) is built from; this module only counts what happened in the holdout after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features.aggregates import exact_sum
from features.cutoff import Cutoff
from features.rfm import DAYS_PER_UNIT, RFM_COLUMNS, period_spend, period_start, rfm_features
from models.clv import ClvModel, TimeUnit
from training.clv import DEFAULT_PENALIZERS, fit_clv
from training.metrics import mae, relative_aggregate_error, rmse


def calibration_holdout(transactions: ir.Table, calibration_end: dt.date, holdout_end: dt.date,
                        unit: TimeUnit) -> pd.DataFrame:
    """Calibration RFM of customers who bought by the end of day `calibration_end` (`rfm_features` at that
    cutoff), with their holdout purchase periods (frequency_holdout), spend (spend_holdout,
    monetary_value_holdout = spend per holdout period) in the days after it up to the end of `holdout_end`,
    and duration_holdout in units; indexed by customer_id, sorted.

    `transactions` needs customer_id, timestamp (naive UTC, as ingested) and amount. Matches lifetimes'
    calibration_and_holdout_data(freq=unit) for day-stamped data (which fails on pandas 3 without a monetary
    column).
    """
    if holdout_end <= calibration_end:
        raise ValueError("holdout_end must be after calibration_end")
    calibration, holdout = Cutoff(calibration_end), Cutoff(holdout_end)
    rfm = rfm_features(transactions, calibration, (), unit).select("customer_id", *RFM_COLUMNS)
    stamp = transactions.timestamp
    later = period_spend(transactions.filter(holdout.known(stamp) & ~calibration.known(stamp)), unit)
    held = later.group_by("customer_id").aggregate(frequency_holdout=later.count(),
                                                   spend_holdout=exact_sum(later.spend))
    joined = rfm.left_join(held, "customer_id")
    frame = joined.select(*rfm.columns, held.frequency_holdout, held.spend_holdout).to_pandas()
    frame = frame.set_index("customer_id").sort_index()
    frame = frame.fillna({"frequency_holdout": 0.0, "spend_holdout": 0.0}).astype("float64")
    frame["monetary_value_holdout"] = (frame["spend_holdout"] / frame["frequency_holdout"].where(
        frame["frequency_holdout"] > 0)).fillna(0.0)
    periods = (period_start(holdout_end, unit) - period_start(calibration_end, unit)).days
    frame["duration_holdout"] = float(periods // DAYS_PER_UNIT[unit])
    return frame


def holdout_metrics(model: ClvModel, frame: pd.DataFrame, service: np.ndarray | None = None
                    ) -> tuple[pd.DataFrame, dict[str, float]]:
    """Predictions for the holdout next to what happened, and the errors: per-customer MAE/RMSE and relative
    aggregate error of purchase periods, MAE of mean spend per period among calibration repeat buyers who
    bought in the holdout, and relative aggregate error of total holdout spend; with an interval table, the
    share of customers whose holdout spend fell in their interval (`interval_coverage`). `service`: the
    correction's service features per row, if the model carries one."""
    out = frame.copy()
    if service is None and model.correction is not None:  # the frame carries the service features, if any
        service = frame.reindex(columns=list(model.correction.service)).to_numpy(dtype=float, na_value=np.nan)
    rfm = frame[list(RFM_COLUMNS)].to_numpy(dtype=float)
    out["predicted_purchases"] = model.window_purchases(rfm, frame["duration_holdout"].to_numpy(), service)
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
    if model.interval is not None:
        low, high = model.interval.bounds(out["predicted_purchases"].to_numpy(), predicted_total_spend.to_numpy())
        out["spend_low"], out["spend_high"] = low, high
        inside = out["spend_holdout"].between(out["spend_low"] - 1e-9, out["spend_high"] + 1e-9)
        metrics["interval_coverage"] = float(inside.mean())
        bought = out["spend_holdout"] > 0  # a realised 0 lies in every interval that starts at 0
        metrics["interval_coverage_buyers"] = float(inside[bought].mean()) if bought.any() else float("nan")
        metrics["holdout_zero_share"] = float(1 - bought.mean())
    return out, metrics


@dataclass(frozen=True)
class ClvEvaluation:
    """A model fitted on the calibration period, its per-customer holdout frame and the holdout metrics."""

    model: ClvModel
    frame: pd.DataFrame
    metrics: dict[str, float]


def evaluate_clv(transactions: ir.Table, calibration_end: dt.date, holdout_end: dt.date, unit: TimeUnit,
                 penalizers: Sequence[float] = DEFAULT_PENALIZERS) -> ClvEvaluation:
    """Fit on the calibration period and score the predictions against the holdout period."""
    frame = calibration_holdout(transactions, calibration_end, holdout_end, unit)
    model = fit_clv(frame, unit, penalizers)
    scored, metrics = holdout_metrics(model, frame)
    return ClvEvaluation(model=model, frame=scored, metrics=metrics)
