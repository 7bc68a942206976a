"""Churn metrics on cases small enough to compute by hand, and agreement with scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.calibration import calibration_curve

from training.evaluation import (
    METRICS,
    brier,
    calibration_table,
    classification_report,
    expected_calibration_error,
    gains_table,
    lift_top_decile,
    log_loss,
    pr_auc,
    roc_auc,
    roc_curve_points,
)

# The scikit-learn docs' example: churners at 0.35 and 0.8, stayers at 0.1 and 0.4.
Y = [0, 0, 1, 1]
SCORE = [0.1, 0.4, 0.35, 0.8]


@pytest.fixture(scope="module")
def noisy() -> tuple[np.ndarray, np.ndarray]:
    """2,000 rows with a 20% churn rate, scores informative but noisy, rounded so that ties are common."""
    rng = np.random.default_rng(5)
    y = (rng.uniform(size=2000) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.2, y.size), 0, 1).round(2)
    return y, p


def test_auc_of_perfect_reversed_and_constant_rankings() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_auc_by_hand() -> None:
    # Pairs (churner, stayer): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert roc_auc(Y, SCORE) == pytest.approx(0.75, abs=1e-15)
    # A tie between a churner and a stayer counts half: (1 + 0.5) / 2.
    assert roc_auc([0, 0, 1], [0.2, 0.5, 0.5]) == pytest.approx(0.75, abs=1e-15)


def test_roc_points_by_hand() -> None:
    fpr, tpr = roc_curve_points(Y, SCORE)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])


def test_average_precision_by_hand() -> None:
    # From the top: churner (P 1, recall .5), stayer, churner (P 2/3, recall 1), stayer -> .5 + .5 * 2/3.
    assert pr_auc(Y, SCORE) == pytest.approx(0.5 + 1 / 3, abs=1e-15)
    assert pr_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    # All tied: one threshold with precision 1/2 and all the recall.
    assert pr_auc([0, 1], [0.3, 0.3]) == 0.5


def test_log_loss_by_hand_and_clipped() -> None:
    assert log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2, rel=1e-12)
    certain_miss = log_loss([0], [1.0])
    assert math.isfinite(certain_miss)
    assert certain_miss == pytest.approx(-math.log(1e-15), rel=1e-3)
    assert log_loss([0, 1], [0.0, 1.0]) == pytest.approx(0.0, abs=1e-12)


def test_brier_by_hand() -> None:
    # Squared misses 0.01, 0.04, 0.25.
    assert brier([1, 0, 1], [0.9, 0.2, 0.5]) == pytest.approx(0.1, abs=1e-15)
    assert brier([0, 1], [0.0, 1.0]) == 0.0


def test_ece_of_a_calibrated_binned_case_is_zero() -> None:
    y = [1, 0, 0, 0, 1, 1, 1, 0]  # 1 in 4 churns at 0.25, 3 in 4 at 0.75
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p) == 0.0


def test_ece_with_two_bins_by_hand() -> None:
    # Bin [0, .5): mean p .3, observed .5, 2 rows; bin [.5, 1]: mean p .7, observed 1, 2 rows.
    # ECE = (|.5 - .3| * 2 + |1 - .7| * 2) / 4 = .25
    y, p = [0, 1, 1, 1], [0.2, 0.4, 0.6, 0.8]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.25, abs=1e-15)
    table = calibration_table(y, p, n_bins=2)
    assert table["count"].tolist() == [2, 2]
    np.testing.assert_allclose(table["mean_predicted"], [0.3, 0.7])
    np.testing.assert_allclose(table["observed"], [0.5, 1.0])


def test_bins_are_closed_on_the_left_and_the_last_includes_one() -> None:
    table = calibration_table([0, 1, 1, 0], [0.0, 0.5, 1.0, 0.3], n_bins=2)
    assert table["count"].tolist() == [2, 2]
    assert table.loc[0, "lower"] == 0.0 and table.loc[1, "upper"] == 1.0
    table10 = calibration_table([0, 1], [0.3, 0.7])  # 0.3 and 0.7 sit on edges of ten bins
    assert table10["count"].tolist() == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert table10["observed"].isna().sum() == 8


def test_lift_of_a_perfect_model_is_one_over_the_base_rate() -> None:
    y = np.r_[np.ones(4), np.zeros(16)]  # base rate 0.2; top decile = 2 rows, both churners
    score = np.linspace(1, 0, 20)
    assert lift_top_decile(y, score) == pytest.approx(5.0, abs=1e-15)
    assert lift_top_decile(y, -score) == 0.0


def test_lift_takes_tied_rows_in_input_order() -> None:
    y = np.r_[np.ones(2), np.zeros(18)]
    flat = np.full(20, 0.3)
    assert lift_top_decile(y, flat) == pytest.approx(10.0)
    assert lift_top_decile(y[::-1], flat) == 0.0


def test_top_decile_rounds_up() -> None:
    y = np.r_[np.ones(3), np.zeros(22)]  # 25 rows: top 10% is 3 rows, all churners
    assert lift_top_decile(y, np.linspace(1, 0, 25)) == pytest.approx(25 / 3)


def test_gains_table_by_hand_and_consistent_with_lift(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    table = gains_table([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], n_groups=2)
    assert table["customers"].tolist() == [2, 4]
    assert table["churners"].tolist() == [1, 2]
    np.testing.assert_allclose(table["share_of_churners"], [0.5, 1.0])
    np.testing.assert_allclose(table["cumulative_lift"], [1.0, 1.0])
    y, p = noisy
    deciles = gains_table(y, p)
    assert deciles["cumulative_lift"].iloc[0] == pytest.approx(lift_top_decile(y, p), rel=1e-12)
    assert deciles["share_of_churners"].iloc[-1] == 1.0
    assert deciles["customers"].iloc[-1] == y.size


def test_agrees_with_sklearn(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = noisy
    assert roc_auc(y, p) == pytest.approx(sk.roc_auc_score(y, p), rel=1e-12)
    assert pr_auc(y, p) == pytest.approx(sk.average_precision_score(y, p), rel=1e-12)
    inside = np.clip(p, 0.01, 0.99)  # the two clip exact 0 and 1 by different epsilons
    assert log_loss(y, inside) == pytest.approx(sk.log_loss(y, inside), rel=1e-12)
    assert brier(y, p) == pytest.approx(sk.brier_score_loss(y, p), rel=1e-12)
    fpr, tpr, _ = sk.roc_curve(y, p, drop_intermediate=False)
    ours = roc_curve_points(y, p)
    np.testing.assert_allclose(ours[0], fpr)
    np.testing.assert_allclose(ours[1], tpr)


def test_calibration_table_agrees_with_sklearn(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = noisy
    p = np.clip(p + 0.001, 0, 1)  # off the bin edges, where conventions differ
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="uniform")
    table = calibration_table(y, p).dropna()
    np.testing.assert_allclose(table["observed"], observed, rtol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], predicted, rtol=1e-12)


def test_accepts_series_bools_and_ignores_the_index() -> None:
    y = pd.Series([False, False, True, True], index=list("abcd"))
    score = pd.Series(SCORE, index=list("wxyz"))
    assert roc_auc(y, score) == pytest.approx(0.75)


def test_report_keys_and_values(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = noisy
    report = classification_report(y, p, "test")
    assert list(report) == [f"test_{name}" for name in METRICS]
    assert list(report) == ["test_roc_auc", "test_pr_auc", "test_log_loss", "test_brier",
                            "test_expected_calibration_error", "test_lift_top_decile"]
    for name, metric in METRICS.items():
        assert report[f"test_{name}"] == metric(y, p)
        assert type(report[f"test_{name}"]) is float


@pytest.mark.parametrize("metric", [*METRICS.values(), roc_curve_points, calibration_table, gains_table])
def test_mismatched_or_empty_inputs_are_refused(metric) -> None:
    with pytest.raises(ValueError, match="y_true has 2 values, y_score 3"):
        metric([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="no values"):
        metric([], [])


@pytest.mark.parametrize("metric", [roc_auc, roc_curve_points, pr_auc, lift_top_decile, gains_table])
def test_single_class_is_refused_where_undefined(metric) -> None:
    with pytest.raises(ValueError, match="single class"):
        metric([0, 0, 0], [0.1, 0.2, 0.3])


def test_report_on_a_single_class_says_why() -> None:
    with pytest.raises(ValueError, match="ROC AUC is undefined when y_true holds a single class"):
        classification_report([1, 1], [0.2, 0.9], "test")


def test_bad_labels_and_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="0/1 labels"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="0/1 labels"):
        roc_auc([0, np.nan], [0.1, 0.2])
    with pytest.raises(ValueError, match="missing or infinite"):
        roc_auc([0, 1], [0.1, np.nan])
    for metric in (log_loss, brier, expected_calibration_error):
        with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
            metric([0, 1], [-0.1, 1.2])
    assert roc_auc([0, 1], [-3.0, 7.0]) == 1.0  # ranking metrics take any real score
