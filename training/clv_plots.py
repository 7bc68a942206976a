"""The two standard CLV fit diagnostics, as tables and as matplotlib Figures (no pyplot, no files).

Each plot has a pure function computing what it shows, so the numbers can be tested and logged on their own.
Figures are built on the Agg canvas directly, without pyplot's global figure registry, so building many in a
process leaks nothing; the tracking module decides where they go.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.clv import ClvModel, TimeUnit
from retain.ingest import as_table


def purchase_periods(transactions: pd.DataFrame, unit: TimeUnit) -> pd.DataFrame:
    """Each transaction's day and period as integers (days since 1970-01-01; Monday-based weeks for "W"):
    the periods lifetimes' `to_period(freq)` gives, as plain integers so the curve below is vectorised."""
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


def holdout_by_calibration_frequency(frame: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency 0..max_frequency+ (the last
    bucket pools everyone above), from a `holdout_metrics` frame."""
    bucket = frame["frequency"].clip(upper=max_frequency).astype(int)
    table = frame.groupby(bucket).agg(customers=("frequency", "size"), actual=("frequency_holdout", "mean"),
                                      predicted=("predicted_purchases", "mean"))
    table = table.reindex(range(max_frequency + 1))
    table.index = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    table.index.name = "frequency_cal"
    return table.fillna({"customers": 0})


def plot_calibration_holdout(frame: pd.DataFrame, max_frequency: int = 7) -> Figure:
    """Actual vs predicted mean holdout purchases by calibration frequency: the BG/NBD fit check of Fader,
    Hardie & Lee (2005), showing whether light and heavy buyers are both predicted right."""
    table = holdout_by_calibration_frequency(frame, max_frequency)
    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["predicted"], marker="s", linestyle="--", label="model")
    ax.set_xlabel("purchases in calibration period (repeat periods)")
    ax.set_ylabel("mean purchases in holdout period")
    ax.set_title("Calibration vs holdout purchases")
    ax.legend()
    fig.tight_layout()
    return fig


def _cohorts(transactions: ir.Table, unit: TimeUnit, end_day: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customers per first purchase period, repeat purchase periods per period) up to day `end_day`, counted
    by the engine: the same periods as `purchase_periods`, one row a period comes back."""
    stamp = transactions.timestamp
    if not stamp.type().is_timestamp():
        stamp = stamp.cast("timestamp")
    day = stamp.date().delta(ibis.date(1970, 1, 1), unit="day")
    period = day if unit == "D" else (day + 3) // 7  # 1969-12-29, a Monday, is day -3
    events = transactions.filter(day <= end_day).select("customer_id", period=period).distinct()
    first = events.group_by("customer_id").aggregate(first=events.period.min())
    births = first.group_by("first").aggregate(n=first.count())
    joined = events.join(first, "customer_id")
    repeats = joined.filter(joined.period != joined.first)
    repeats = repeats.group_by("period").aggregate(n=repeats.count())
    return births.to_pyarrow().to_pandas(), repeats.to_pyarrow().to_pandas()


def cumulative_transactions(transactions: ir.Table | pd.DataFrame, model: ClvModel, end: object) -> pd.DataFrame:
    """Cumulative repeat purchase periods of the whole base by the end of each period up to day `end`,
    actual and expected, in the model's unit; same definition as lifetimes' expected_cumulative_transactions.

    Expected: each cohort of n customers whose first purchase was in period s contributes n * E[X(k + 1 - s)]
    by the end of period k, which is a convolution of cohort sizes with the population curve.
    """
    unit: TimeUnit = model.unit
    end_day = int(np.datetime64(pd.Timestamp(end).date(), "D").astype(np.int64))
    cohorts, repeat_periods = _cohorts(as_table(transactions), unit, end_day)
    if cohorts.empty:
        raise ValueError("no transactions up to `end`")
    start = int(cohorts["first"].min())
    n_periods = (end_day if unit == "D" else (end_day + 3) // 7) - start + 1
    births = np.bincount(cohorts["first"].to_numpy(np.int64) - start, weights=cohorts["n"].to_numpy(float),
                         minlength=n_periods)
    repeats = np.bincount(repeat_periods["period"].to_numpy(np.int64) - start,
                          weights=repeat_periods["n"].to_numpy(float), minlength=n_periods)
    curve = model.population_expected_purchases(np.arange(1, n_periods + 1))
    expected = np.convolve(births, curve)[:n_periods]
    start_day = start if unit == "D" else start * 7 - 3
    index = pd.date_range(pd.Timestamp(np.datetime64(start_day, "D")), periods=n_periods,
                          freq="D" if unit == "D" else "7D", name="period_start")
    return pd.DataFrame({"actual": np.cumsum(repeats).astype(float), "predicted": expected}, index=index)


def plot_cumulative_transactions(curve: pd.DataFrame, calibration_end: object | None = None) -> Figure:
    """Actual vs expected cumulative repeat purchases over time, with the calibration end marked, so drift
    in the holdout shows as the lines parting."""
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(curve.index, curve["actual"], label="actual")
    ax.plot(curve.index, curve["predicted"], linestyle="--", label="model")
    if calibration_end is not None:
        ax.axvline(pd.Timestamp(calibration_end), color="grey", linestyle=":", label="calibration end")
    ax.set_xlabel("period start")
    ax.set_ylabel("cumulative repeat purchases")
    ax.set_title("Cumulative repeat purchases: actual vs model")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
