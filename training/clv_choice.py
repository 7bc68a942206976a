"""Choosing the CLV model out of time: every buy-till-you-die candidate, then the hybrid, judged on a validation
window before the holdout, never on the holdout itself; then the 80% interval table from the same window.

Windows (cutoff, end] are closed in order: training windows end by the validation cutoff, the validation
window ends by the calibration cutoff, and the holdout comes last. Steps:

1. fit BG/NBD, MBG/NBD and Pareto/NBD (+ Gamma-Gamma) at the validation cutoff; the one with the lowest
   per-customer purchase RMSE on the validation window is the BTYD choice (`CHOICE_METRIC`);
2. the hybrid: a Poisson XGBoost of purchases in each training window with log(BTYD prediction) as offset,
   inputs RFM, P(alive), the BTYD prediction and the service features, early-stopped on the validation window.
   It replaces BTYD only if its validation MAE is lower *and* its validation total is within `AGGREGATE_LIMIT`
   (or no worse than BTYD's);
3. the interval table: realised / predicted spend on the validation window by group (`models.clv_hybrid`);
4. refit the chosen purchase model at the calibration cutoff, and measure everything on the holdout.

Pure computation: frames and an ibis table in, dataclasses out; no files, MLflow or clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import xgboost as xgb

from features.rfm import RFM_COLUMNS
from models.btyd import PURCHASE_MODELS, PurchaseModel
from models.clv import ClvModel, TimeUnit
from models.clv_hybrid import Correction
from training.clv import DEFAULT_PENALIZERS, fit_clv
from training.clv_evaluation import ClvEvaluation, calibration_holdout, holdout_metrics
from training.clv_intervals import interval_table
from training.labels import CutoffPlan

AGGREGATE_LIMIT = 0.05
CHOICE_METRIC = "purchases_rmse"
"""Every candidate predicts a conditional mean, and squared error is what the true mean minimises: MAE would
reward the model that predicts low (the median of mostly-zero counts is 0), RMSE picks the right story."""
HYBRID_PARAMS = {"objective": "count:poisson", "max_depth": 4, "eta": 0.05, "min_child_weight": 20.0,
                 "subsample": 0.8, "colsample_bytree": 0.8, "max_delta_step": 0.7, "nthread": 2}
MAX_ROUNDS, EARLY_STOPPING = 400, 30


@dataclass(frozen=True)
class Window:
    """Features at the end of day `cutoff`, purchases counted in the days after it up to the end of `end`."""

    cutoff: dt.date
    end: dt.date


@dataclass(frozen=True)
class ClvWindows:
    """Training windows, then the validation window, then the holdout (calibration cutoff, holdout end)."""

    train: tuple[Window, ...]
    validation: Window
    holdout: Window

    def __post_init__(self) -> None:
        if any(w.end > self.validation.cutoff for w in self.train):
            raise ValueError("every training window must end by the validation cutoff")
        if self.validation.end > self.holdout.cutoff:
            raise ValueError("the validation window must end by the calibration cutoff")


@dataclass(frozen=True)
class ClvChoice:
    """The chosen model (refitted at the calibration cutoff), its holdout evaluation, and what every candidate
    measured: `validation[name]` and `holdout[name]` per candidate ("bgnbd", "mbgnbd", "pareto_nbd",
    "hybrid"), `chosen` the purchase model, `hybrid_won` whether the correction is carried."""

    evaluation: ClvEvaluation
    chosen: PurchaseModel
    hybrid_won: bool
    validation: dict[str, dict[str, float]]
    holdout: dict[str, dict[str, float]]
    reason: str
    service: tuple[str, ...] = field(default=())


def window_frame(transactions: ir.Table, window: Window, unit: TimeUnit,
                 service: pd.DataFrame | None = None, columns: Sequence[str] = ()) -> pd.DataFrame:
    """`calibration_holdout` for the window, with the service `columns` of `service` (indexed by customer id)
    joined on (NaN where a customer has none)."""
    frame = calibration_holdout(transactions, window.cutoff, window.end, unit)
    if columns:
        known = service.reindex(columns=list(columns)) if service is not None else pd.DataFrame(columns=columns)
        frame = frame.join(known.astype("float64"), how="left")
    return frame


def _service_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    return frame[list(columns)].to_numpy(dtype=float, na_value=np.nan) if columns else None


def _measure(model: ClvModel, frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, float]:
    return holdout_metrics(model, frame, _service_matrix(frame, columns))[1]


def _hybrid_rows(model: ClvModel, frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    rfm = frame[list(RFM_COLUMNS)].to_numpy(dtype=float)
    horizon = float(frame["duration_holdout"].iloc[0])
    probe = replace(model, correction=Correction(xgb.Booster(), horizon, tuple(columns)))
    alive = model.p_alive(frame).to_numpy()
    return probe.correction_inputs(rfm, alive, _service_matrix(frame, columns)), frame["frequency_holdout"].to_numpy()


def fit_correction(train: Sequence[tuple[ClvModel, pd.DataFrame]], validation: tuple[ClvModel, pd.DataFrame],
                   columns: Sequence[str], seed: int) -> Correction:
    """The hybrid's booster: training windows (each with the purchase model fitted at its cutoff), early
    stopping on the validation window."""
    parts = [_hybrid_rows(model, frame, columns) for model, frame in train]
    x, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    xv, yv = _hybrid_rows(*validation, columns)
    offset = 5  # CORRECTION_INPUTS.index("btyd_purchases")
    train_matrix = xgb.DMatrix(x, y, base_margin=np.log(np.maximum(x[:, offset], 1e-9)))
    valid_matrix = xgb.DMatrix(xv, yv, base_margin=np.log(np.maximum(xv[:, offset], 1e-9)))
    booster = xgb.train({**HYBRID_PARAMS, "seed": seed}, train_matrix, MAX_ROUNDS, evals=[(valid_matrix, "validation")],
                        early_stopping_rounds=EARLY_STOPPING, verbose_eval=False)
    booster = booster[: booster.best_iteration + 1]
    horizon = float(validation[1]["duration_holdout"].iloc[0])
    return Correction(booster, horizon, tuple(columns))


def hybrid_wins(hybrid: Mapping[str, float], btyd: Mapping[str, float]) -> tuple[bool, str]:
    """The gate: lower validation MAE, and a validation total within `AGGREGATE_LIMIT` or no worse than BTYD's."""
    limit = max(AGGREGATE_LIMIT, abs(btyd["purchases_aggregate_error"]))
    lower = hybrid["purchases_mae"] < btyd["purchases_mae"]
    total_ok = abs(hybrid["purchases_aggregate_error"]) <= limit
    verdict = lower and total_ok
    return verdict, (f"hybrid validation MAE {hybrid['purchases_mae']:.4f} vs BTYD {btyd['purchases_mae']:.4f}, "
                     f"aggregate {hybrid['purchases_aggregate_error']:+.2%} (limit +-{limit:.2%}): "
                     + ("hybrid replaces BTYD" if verdict else "BTYD kept"))


def choose_purchase_model(valid: pd.DataFrame, unit: TimeUnit, penalizers: Sequence[float] = DEFAULT_PENALIZERS,
                          candidates: Sequence[PurchaseModel] = PURCHASE_MODELS
                          ) -> tuple[PurchaseModel, dict[PurchaseModel, ClvModel], dict[str, dict[str, float]]]:
    """Fit every candidate on the validation frame's calibration RFM and pick the lowest error on its
    window by `CHOICE_METRIC` (`calibration_holdout`'s columns); returns the choice, the fitted models and
    their figures."""
    fitted = {kind: fit_clv(valid, unit, penalizers, kind) for kind in candidates}
    measured: dict[str, dict[str, float]] = {kind: _measure(model, valid, ()) for kind, model in fitted.items()}
    return min(candidates, key=lambda kind: measured[kind][CHOICE_METRIC]), fitted, measured


def choose_clv(transactions: ir.Table, windows: ClvWindows, unit: TimeUnit,
               service: Mapping[dt.date, pd.DataFrame] | None = None, columns: Sequence[str] = (),
               seed: int = 0, penalizers: Sequence[float] = DEFAULT_PENALIZERS,
               candidates: Sequence[PurchaseModel] = PURCHASE_MODELS) -> ClvChoice:
    """Every candidate on the validation window, the hybrid and its gate, the interval table, and the holdout
    figures of all of them (`service`: feature frames by cutoff, indexed by customer id)."""
    def frame_at(window: Window) -> pd.DataFrame:
        return window_frame(transactions, window, unit, (service or {}).get(window.cutoff), columns)

    valid, held = frame_at(windows.validation), frame_at(windows.holdout)
    chosen, fitted, measured = choose_purchase_model(valid, unit, penalizers, candidates)
    validation: dict[str, dict[str, float]] = dict(measured)
    final = fit_clv(held, unit, penalizers, chosen)
    refitted = {kind: final if kind == chosen else fit_clv(held, unit, penalizers, kind) for kind in candidates}
    holdout: dict[str, dict[str, float]] = {kind: _measure(model, held, ()) for kind, model in refitted.items()}
    reason = f"{chosen} has the lowest validation {CHOICE_METRIC}"
    hybrid_won, predictor = False, fitted[chosen]
    if windows.train:
        train = [(fit_clv(frame, unit, penalizers, chosen), frame) for frame in map(frame_at, windows.train)]
        correction = fit_correction(train, (fitted[chosen], valid), columns, seed)
        hybrid_valid = replace(fitted[chosen], correction=correction)
        validation["hybrid"] = _measure(hybrid_valid, valid, columns)
        hybrid_won, verdict = hybrid_wins(validation["hybrid"], validation[chosen])
        holdout["hybrid"] = _measure(replace(final, correction=correction), held, columns)
        reason = f"{reason}; {verdict}"
        if hybrid_won:
            final, predictor = replace(final, correction=correction), hybrid_valid
    table = interval_table(predictor, valid, _service_matrix(valid, columns))
    final = replace(final, interval=table)
    scored, metrics = holdout_metrics(final, held, _service_matrix(held, columns))
    return ClvChoice(ClvEvaluation(final, scored, metrics), chosen, hybrid_won, validation, holdout, reason,
                     tuple(columns))


def plan_windows(plan: CutoffPlan, as_of: dt.date, horizon_days: int) -> ClvWindows:
    """`retain train`'s windows: one per training cutoff and the validation cutoff, each `horizon_days` long
    (so each closes before the next stage), and the holdout from the test cutoff to `as_of`."""
    horizon = dt.timedelta(days=horizon_days)
    return ClvWindows(train=tuple(Window(c, c + horizon) for c in plan.train),
                      validation=Window(plan.validation, plan.validation + horizon), holdout=Window(plan.test, as_of))


def choose_on_plan(transactions: ir.Table, plan: CutoffPlan, as_of: dt.date, frames: Mapping[str, pd.DataFrame],
                   columns: Sequence[str], unit: TimeUnit, horizon_days: int, seed: int) -> ClvChoice:
    """`choose_clv` on `retain train`'s cutoffs, with the service `columns` of its feature frames
    (`training.dataset.training_frames`: "train" holds every training cutoff's rows, told apart by as_of)."""
    train_rows = frames["train"]
    cutoffs = pd.to_datetime(train_rows["as_of"]).dt.date
    service = {c: train_rows[cutoffs == c].set_index("customer_id") for c in plan.train}
    service[plan.validation] = frames["validation"].set_index("customer_id")
    service[plan.test] = frames["test"].set_index("customer_id")
    return choose_clv(transactions, plan_windows(plan, as_of, horizon_days), unit, service, columns, seed)
