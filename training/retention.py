"""Churn metrics on the retention population, next to those on the whole base, and the tier thresholds.

On a base of rare buyers most customers are labelled churned at any cutoff, and a score that only says "has
not bought for a long time" looks excellent on the whole base. A team works the active customers, so every
run also reports the metrics among them, with the ranking a team would otherwise use — days since the last
purchase — as the baseline to beat.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from models.population import TierThresholds
from training.evaluation import classification_report, roc_auc

PREFIX = "churn_retention"


def idle_days(rfm: np.ndarray, days_per_unit: int) -> np.ndarray:
    """Days since the last purchase from RFM (frequency, recency, T): the recency-only ranking."""
    return (rfm[:, 2] - rfm[:, 1]) * days_per_unit


def retention_metrics(labels: np.ndarray, scores: Mapping[str, np.ndarray], member: np.ndarray,
                      recency_days: np.ndarray) -> dict[str, float]:
    """The churn model's metrics within the population (`PREFIX`_*), each baseline's ROC-AUC there, the
    recency-only ranking's ROC-AUC on both populations, and the population's size and churn rate. Metrics
    undefined on a one-class population are left out rather than faked."""
    metrics: dict[str, float] = {"retention_population_share": float(member.mean()),
                                 "retention_population_rows": float(member.sum())}
    inside = labels[member]
    if inside.size:
        metrics["churn_rate_retention"] = float(inside.mean())
    if np.unique(labels).size == 2:
        metrics["baseline_recency_roc_auc"] = roc_auc(labels, recency_days)
    if np.unique(inside).size < 2:
        return metrics
    metrics.update(classification_report(inside, scores["churn_model"][member], PREFIX))
    metrics["baseline_recency_retention_roc_auc"] = roc_auc(inside, recency_days[member])
    for name, score in scores.items():
        if name != "churn_model":
            metrics[f"baseline_{name}_retention_roc_auc"] = roc_auc(inside, score[member])
    metrics["retention_auc_gain_over_recency"] = (metrics[f"{PREFIX}_roc_auc"]
                                                  - metrics["baseline_recency_retention_roc_auc"])
    return metrics


def tier_metrics(thresholds: TierThresholds, probability: np.ndarray, member: np.ndarray) -> dict[str, float]:
    """The thresholds and the share of the population each tier holds on the cutoff they were set on."""
    tiers = thresholds.tiers(probability, member)[member]
    return {"tier_medium_threshold": thresholds.medium, "tier_high_threshold": thresholds.high,
            "tier_high_share_retention": float(np.mean(tiers == "high")) if tiers.size else 0.0,
            "tier_medium_share_retention": float(np.mean(tiers == "medium")) if tiers.size else 0.0}
