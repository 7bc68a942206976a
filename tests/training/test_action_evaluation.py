"""Top-K and Qini arithmetic of the action evaluation, on tiny hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from training.action_evaluation import (
    predicted_churn_drop,
    qini_coefficients,
    qini_curve,
    ranking,
    realized_churn_drop,
    realized_value_saved,
    summary_metrics,
    top_k,
    treated_count,
)
from training.action_plots import plot_qini


def outcomes() -> pd.DataFrame:
    """Four customers' replayed revenue in the baseline and under each action."""
    return pd.DataFrame({
        "revenue_baseline": [100.0, 50.0, 0.0, 80.0],
        "revenue_resolve_open_case": [130.0, 50.0, 0.0, 80.0],
        "revenue_single_owner": [110.0, 55.0, 0.0, 80.0],
        "revenue_service_recovery": [100.0, 70.0, 0.0, 95.0],
        "churned_baseline": [0.5, 0.2, 1.0, 0.4],
        "churned_resolve_open_case": [0.1, 0.2, 1.0, 0.4],
        "churned_single_owner": [0.3, 0.1, 1.0, 0.4],
        "churned_service_recovery": [0.5, 0.0, 1.0, 0.3],
    }, index=pd.Index(["a", "b", "c", "d"], name="customer_id"))


def frame(value_saved: list[float], value_at_risk: list[float], realized: list[float]) -> pd.DataFrame:
    ids = [f"c{i}" for i in range(len(realized))]
    return pd.DataFrame({"customer_id": ids, "value_saved": value_saved, "value_at_risk": value_at_risk,
                         "realized_value_saved": realized})


def test_realized_value_is_the_best_actions_revenue_over_the_baseline() -> None:
    best = pd.Series({"d": "service_recovery", "a": "resolve_open_case", "b": None})  # c: missing

    realized = realized_value_saved(best, outcomes())

    assert realized.to_dict() == {"a": 30.0, "b": 0.0, "c": 0.0, "d": 15.0}


def test_realized_churn_drop_is_the_baselines_churn_less_the_best_actions() -> None:
    best = pd.Series({"d": "service_recovery", "a": "resolve_open_case", "b": None})

    drop = realized_churn_drop(best, outcomes())

    assert drop.to_dict() == pytest.approx({"a": 0.4, "b": 0.0, "c": 0.0, "d": 0.1})


def test_predicted_churn_drop_reads_the_best_actions_probability_after() -> None:
    scores = pd.DataFrame({
        "best_action": ["single_owner", None, "service_recovery"],
        "churn_probability": [0.6, 0.5, 0.9],
        "churn_probability_after_resolve_open_case": [0.1, np.nan, 0.2],
        "churn_probability_after_single_owner": [0.45, np.nan, np.nan],
        "churn_probability_after_service_recovery": [np.nan, np.nan, 0.7],
    })

    assert predicted_churn_drop(scores).tolist() == pytest.approx([0.15, 0.0, 0.2])


def test_top_k_averages_the_churn_drops_over_each_rankings_treated() -> None:
    data = frame(value_saved=[9.0, 8.0, 1.0, 0.0], value_at_risk=[1.0, 2.0, 3.0, 4.0], realized=[0.0, 4.0, 2.0, 0.0])
    data["predicted_churn_drop"] = [0.4, 0.2, 0.1, 0.0]
    data["realized_churn_drop"] = [0.0, 0.1, 0.3, 0.0]

    table = top_k(data, shares=(0.5,))

    assert table.loc[0, "predicted_churn_drop_value_saved"] == pytest.approx(0.3)  # c0 and c1
    assert table.loc[0, "realized_churn_drop_value_saved"] == pytest.approx(0.05)
    assert table.loc[0, "realized_churn_drop_value_at_risk"] == pytest.approx(0.15)  # c3 and c2
    assert "predicted_churn_drop_value_saved" not in top_k(frame([1.0], [1.0], [1.0]), shares=(1.0,)).columns


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="send_flowers"):
        realized_value_saved(pd.Series({"a": "send_flowers"}), outcomes())


def test_ranking_puts_highest_first_missing_last_and_ties_by_id() -> None:
    table = pd.DataFrame({"customer_id": ["z", "y", "x", "w"], "value_saved": [1.0, np.nan, 1.0, 3.0]})

    assert ranking(table, "value_saved").tolist() == [3, 2, 0, 1]  # w, then x and z by id, then the missing y


@pytest.mark.parametrize(("share", "customers", "expected"),
                         [(0.01, 150, 2), (0.05, 100, 5), (0.10, 7, 1), (0.01, 10, 1), (0.5, 0, 0), (1.0, 3, 3)])
def test_treated_count_rounds_up_and_treats_someone(share: float, customers: int, expected: int) -> None:
    assert treated_count(share, customers) == expected


def test_top_k_sums_what_each_ranking_treats() -> None:
    # value saved finds c0 and c1; value at risk picks c4 and c3 (big customers an action does not help)
    data = frame(value_saved=[9.0, 8.0, 1.0, 0.0, np.nan],
                 value_at_risk=[10.0, 5.0, 20.0, 40.0, 50.0],
                 realized=[12.0, 4.0, 2.0, 0.0, 1.0])

    table = top_k(data, shares=(0.2, 0.4))

    first, second = table.to_dict("records")
    assert first["customers"] == 1 and second["customers"] == 2
    assert first["predicted_value_saved"] == 9.0 and first["realized_value_saved"] == 12.0
    assert first["predicted_value_at_risk"] == 0.0 and first["realized_value_at_risk"] == 1.0  # c4, saved NaN
    assert first["realized_ratio"] == 12.0
    assert second["predicted_value_saved"] == 17.0 and second["realized_value_saved"] == 16.0
    assert second["predicted_value_at_risk"] == 0.0 and second["realized_value_at_risk"] == 1.0
    assert second["predicted_over_realized_value_saved"] == pytest.approx(17 / 16)
    assert second["realized_ratio"] == 16.0


def test_top_k_says_how_many_treated_had_already_left() -> None:
    data = frame(value_saved=[9.0, 8.0, 1.0, 0.0], value_at_risk=[1.0, 2.0, 3.0, 4.0], realized=[0.0, 4.0, 2.0, 0.0])
    data["alive"] = [False, True, True, False]

    table = top_k(data, shares=(0.25, 0.5))

    assert table["gone_value_saved"].tolist() == [1.0, 0.5]  # c0, then c0 and c1
    assert table["gone_value_at_risk"].tolist() == [1.0, 0.5]  # c3, then c3 and c2
    assert "gone_value_saved" not in top_k(data.drop(columns="alive"), shares=(0.5,)).columns


def test_a_ratio_over_nothing_is_missing_not_infinite() -> None:
    table = top_k(frame([1.0, 0.0], [0.0, 1.0], [3.0, 0.0]), shares=(0.5,))

    assert table.loc[0, "realized_value_saved"] == 3.0
    assert np.isnan(table.loc[0, "realized_ratio"])


def test_qini_curve_accumulates_in_each_rankings_order() -> None:
    data = frame(value_saved=[1.0, 3.0, 2.0], value_at_risk=[3.0, 2.0, 1.0], realized=[6.0, 0.0, 3.0])

    curve = qini_curve(data)

    np.testing.assert_allclose(curve["share"], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve["value_saved"], [0, 0, 3, 9])  # c1, c2, c0
    np.testing.assert_allclose(curve["value_at_risk"], [0, 6, 6, 9])  # c0, c1, c2
    np.testing.assert_allclose(curve["random"], [0, 3, 6, 9])
    coefficients = qini_coefficients(curve)
    # trapezoids of (curve - random) = (0, -3, -3, 0) and (0, 3, 0, 0), each step 1/3 wide
    assert coefficients["value_saved"] == pytest.approx(-2.0)
    assert coefficients["value_at_risk"] == pytest.approx(1.0)


def test_summary_metrics_name_each_share() -> None:
    data = frame([2.0, 1.0], [1.0, 2.0], [2.0, 1.0])
    metrics = summary_metrics(top_k(data, shares=(0.05, 0.5)), qini_curve(data))

    assert metrics["actions_realized_value_saved_at_5pct"] == 2.0
    assert metrics["actions_realized_value_at_risk_at_50pct"] == 1.0
    assert metrics["actions_realized_ratio_at_5pct"] == 2.0
    assert "actions_qini_value_saved" in metrics and "actions_customers_at_5pct" in metrics


def test_qini_plot_draws_every_ordering() -> None:
    data = frame([2.0, 1.0, 0.5], [1.0, 2.0, 3.0], [2.0, 1.0, 0.0])

    figure = plot_qini(qini_curve(data), (0.05, 0.5))

    assert isinstance(figure, Figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert labels == ["by predicted value saved", "by value at risk", "random order"]
