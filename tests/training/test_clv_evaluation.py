"""CLV evaluation on a calibration/holdout split, and the two diagnostic plots."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data, expected_cumulative_transactions
from matplotlib.figure import Figure

from training.clv import TimeUnit, fit_clv, lifetimes_fitters
from training.clv_evaluation import calibration_holdout, evaluate_clv, purchase_periods
from training.clv_plots import (
    cumulative_transactions,
    holdout_by_calibration_frequency,
    plot_calibration_holdout,
    plot_cumulative_transactions,
)

CAL_END, HOLD_END = "2024-07-31", "2024-12-29"


@pytest.mark.parametrize("unit", ["D", "W"])
def test_split_matches_lifetimes_on_day_stamped_data(midnight_transactions: pd.DataFrame,
                                                     unit: TimeUnit) -> None:
    theirs = calibration_and_holdout_data(
        midnight_transactions, "customer_id", "timestamp", CAL_END, HOLD_END, freq=unit,
        monetary_value_col="amount").sort_index()
    ours = calibration_holdout(midnight_transactions, CAL_END, HOLD_END, unit).sort_index()
    assert ours.index.equals(theirs.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[column], theirs[f"{column}_cal"], rtol=1e-12, err_msg=column)
    np.testing.assert_array_equal(ours["frequency_holdout"], theirs["frequency_holdout"])
    np.testing.assert_array_equal(ours["duration_holdout"], theirs["duration_holdout"])


def test_split_by_hand() -> None:
    """Weeks start on Monday; two purchases in one period are one purchase period with summed spend."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "c"],
        "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-03", "2024-01-10", "2024-01-31 23:59",
                                     "2024-02-02", "2024-01-20", "2024-02-03"], format="ISO8601"),
        "amount": [5.0, 7.0, 10.0, 20.0, 4.0, 3.0, 8.0],
    })
    frame = calibration_holdout(tx, "2024-01-31", "2024-02-14", "W")
    a = frame.loc["a"]
    # a: weeks from 2024-01-01: 0 (5+7), 1 (10), 4 (20 at 23:59 on the cutoff day is known); holdout week 4.
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (2, 4, 4, 15)
    assert (a["frequency_holdout"], a["spend_holdout"], a["monetary_value_holdout"]) == (1, 4, 4)
    assert frame.loc["b"].to_dict() == pytest.approx({
        "frequency": 0, "recency": 0, "T": 2, "monetary_value": 0, "frequency_holdout": 0, "spend_holdout": 0,
        "monetary_value_holdout": 0, "duration_holdout": 2})
    assert "c" not in frame.index  # first bought in the holdout: not part of the calibration base
    days = calibration_holdout(tx, "2024-01-31", "2024-02-14", "D").loc["a"]
    assert (days["frequency"], days["recency"], days["T"]) == (3, 30, 30)  # days 1, 3, 10, 31


def test_timezone_aware_stamps_are_read_in_utc() -> None:
    tx = pd.DataFrame({"customer_id": ["a"], "amount": [1.0],
                       "timestamp": pd.to_datetime(["2024-01-01 23:30"]).tz_localize("America/New_York")})
    assert purchase_periods(tx, "D")["day"].iloc[0] == np.datetime64("2024-01-02", "D").astype(np.int64)


def test_evaluation_on_simulated_bgnbd_data(transactions: pd.DataFrame) -> None:
    """The model is right for this data, so the base-level errors are small."""
    result = evaluate_clv(transactions, "2024-12-31", "2025-06-29", "D")
    m = result.metrics
    assert m["customers"] == len(result.frame) == transactions["customer_id"].nunique()
    assert all(np.isfinite(v) for v in m.values())
    assert abs(m["purchases_aggregate_error"]) < 0.1 and abs(m["spend_aggregate_error"]) < 0.15
    assert 0 < m["purchases_mae"] <= m["purchases_rmse"]
    assert m["purchases_actual_total"] == result.frame["frequency_holdout"].sum()
    assert 0 < m["spend_customers"] < m["customers"]
    assert {"predicted_purchases", "predicted_spend"} <= set(result.frame.columns)


def test_holdout_by_calibration_frequency_buckets() -> None:
    frame = pd.DataFrame({"frequency": [0, 0, 1, 9, 12], "frequency_holdout": [0, 2, 1, 4, 6],
                          "predicted_purchases": [0.5, 0.5, 1.0, 5.0, 7.0]})
    table = holdout_by_calibration_frequency(frame, max_frequency=7)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.loc["0"].to_dict() == {"customers": 2, "actual": 1.0, "predicted": 0.5}
    assert table.loc["7+"].to_dict() == {"customers": 2, "actual": 5.0, "predicted": 6.0}
    assert table.loc["3", "customers"] == 0 and np.isnan(table.loc["3", "actual"])


@pytest.mark.parametrize(("unit", "periods"), [("D", 300), ("W", 45)])
def test_cumulative_transactions_match_lifetimes(midnight_transactions: pd.DataFrame, unit: TimeUnit,
                                                 periods: int) -> None:
    model = fit_clv(calibration_holdout(midnight_transactions, CAL_END, HOLD_END, unit), unit)
    theirs = expected_cumulative_transactions(lifetimes_fitters(model)[0], midnight_transactions, "timestamp",
                                              "customer_id", periods, freq=unit)
    first = pd.Timestamp(midnight_transactions["timestamp"].min()).to_period(unit).start_time
    end = first + pd.Timedelta(days=periods * (1 if unit == "D" else 7) - 1)
    ours = cumulative_transactions(midnight_transactions, model, end)
    assert len(ours) == periods and ours.index[0] == first
    np.testing.assert_array_equal(ours["actual"], theirs["actual"])
    np.testing.assert_allclose(ours["predicted"], theirs["predicted"], rtol=1e-10)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_plots_are_figures_with_both_lines(transactions: pd.DataFrame) -> None:
    result = evaluate_clv(transactions, "2024-12-31", "2025-06-29", "W")
    calibration = plot_calibration_holdout(result.frame)
    curve = cumulative_transactions(transactions, result.model, "2025-06-29")
    over_time = plot_cumulative_transactions(curve, calibration_end="2024-12-31")
    for fig in (calibration, over_time):
        assert isinstance(fig, Figure)
        assert {line.get_label() for line in fig.axes[0].get_lines()} >= {"actual", "model"}
        assert _png(fig).startswith(b"\x89PNG")
    assert curve["actual"].is_monotonic_increasing and curve["predicted"].is_monotonic_increasing
