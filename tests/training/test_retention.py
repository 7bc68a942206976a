"""Churn metrics on the retention population: computed where defined, left out (not faked) where not."""

from __future__ import annotations

import numpy as np
import pytest

from training.retention import idle_days, retention_metrics


def test_metrics_inside_the_population_and_the_recency_baseline() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 400)
    model = 1 / (1 + np.exp(-(labels - 0.5 + rng.normal(0, 0.8, 400))))  # probabilities
    recency = labels + rng.normal(0, 2.0, 400)
    member = rng.random(400) < 0.6
    metrics = retention_metrics(labels, {"churn_model": model, "logistic_rfm": 1 - model}, member, recency)
    assert metrics["retention_population_share"] == pytest.approx(member.mean())
    assert metrics["churn_rate_retention"] == pytest.approx(labels[member].mean())
    assert metrics["churn_retention_roc_auc"] > metrics["baseline_recency_retention_roc_auc"] > 0.5
    assert metrics["baseline_logistic_rfm_retention_roc_auc"] == pytest.approx(
        1 - metrics["churn_retention_roc_auc"])
    assert metrics["retention_auc_gain_over_recency"] == pytest.approx(
        metrics["churn_retention_roc_auc"] - metrics["baseline_recency_retention_roc_auc"])


def test_a_one_class_population_reports_its_size_but_no_ranking_metrics() -> None:
    labels = np.array([1, 1, 0, 0])
    member = np.array([True, True, False, False])
    metrics = retention_metrics(labels, {"churn_model": np.array([0.9, 0.8, 0.2, 0.1])}, member,
                                np.array([1.0, 2.0, 3.0, 4.0]))
    assert metrics["churn_rate_retention"] == 1.0
    assert "churn_retention_roc_auc" not in metrics
    assert "baseline_recency_roc_auc" in metrics  # the whole base has both classes


def test_idle_days_in_weeks() -> None:
    assert idle_days(np.array([[2.0, 10.0, 13.0]]), 7).tolist() == [21.0]
