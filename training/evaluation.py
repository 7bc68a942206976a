"""Churn-score evaluation: ranking, probability and calibration measures as pure functions of the labels and
the scores, plus the tables the churn plots draw, so every plotted number can be tested and logged on its own.

Every function takes array-likes (Series, ndarrays, lists) of equal length: `y_true` holds 0/1 labels (bools
are fine) and `y_score` the churn scores. Ranking measures (AUC, average precision, lift) accept any finite
real score; probability measures (log loss, Brier, calibration) refuse values outside [0, 1], because a
"probability" of 1.3 is a bug upstream that clipping would hide. Results are plain floats so the tracking
module can log them as they are. Ties between scores are never broken at random: curves step through whole
groups of tied scores, and top-k selections take tied rows in input order (a stable sort).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import rankdata

__all__ = [
    "METRICS", "brier", "calibration_table", "classification_report", "expected_calibration_error",
    "gains_table", "lift_top_decile", "log_loss", "pr_auc", "roc_auc", "roc_curve_points",
]

LOG_LOSS_EPS = 1e-15


def _labels_scores(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores as float arrays, checked once here so every metric fails the same clear way."""
    y_s = np.asarray(y_score, dtype=float).ravel()
    try:
        y = np.asarray(y_true, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise ValueError("y_true must hold 0/1 labels") from err
    if y.shape != y_s.shape:
        raise ValueError(f"y_true has {y.size} values, y_score {y_s.size}")
    if y.size == 0:
        raise ValueError("no values to evaluate")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold only 0/1 labels (no missing values)")
    if not np.isfinite(y_s).all():
        raise ValueError("y_score has missing or infinite values")
    return y, y_s


def _labels_probabilities(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """As `_labels_scores`, and the scores must be probabilities."""
    y, p = _labels_scores(y_true, y_score)
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"y_score must be probabilities in [0, 1], got {p.min():g}..{p.max():g}")
    return y, p


def _require_both_classes(y: np.ndarray, metric: str) -> None:
    positives = int(y.sum())
    if positives in (0, y.size):
        raise ValueError(f"{metric} is undefined when y_true holds a single class "
                         f"(all {'1' if positives else '0'}): need churners and non-churners")


def _tie_groups(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct score, highest first: the operating points of
    every threshold, with tied scores always crossing the threshold together."""
    order = np.argsort(-score, kind="stable")
    ranked, hits = score[order], y[order]
    group_end = np.r_[ranked[1:] != ranked[:-1], True]
    return np.cumsum(hits)[group_end], np.cumsum(1.0 - hits)[group_end]


def _top_count(n: int, fraction: float) -> int:
    """Rows in the top `fraction` of n, rounded up so a small set still has one (0.1 of 25 is 3)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, int(np.ceil(round(n * fraction, 9))))


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve: the chance a random churner scores above a random stayer (ties count half),
    computed as the Mann-Whitney statistic from average ranks. Says how well the list is ordered, nothing
    about whether the probabilities are right."""
    y, score = _labels_scores(y_true, y_score)
    _require_both_classes(y, "ROC AUC")
    positives = y.sum()
    negatives = y.size - positives
    rank_sum = rankdata(score)[y == 1.0].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def roc_curve_points(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct threshold, starting at (0, 0): the ROC
    curve as drawn, one point per group of tied scores."""
    y, score = _labels_scores(y_true, y_score)
    _require_both_classes(y, "the ROC curve")
    tp, fp = _tie_groups(y, score)
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def pr_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds (no interpolation, as
    scikit-learn). Unlike ROC AUC it drops when the top of the list is diluted, which is what a retention
    team calling the top customers feels when churn is rare."""
    y, score = _labels_scores(y_true, y_score)
    if y.sum() == 0:
        raise ValueError("average precision (PR AUC) is undefined when y_true holds a single class "
                         "(all 0): need churners")
    tp, fp = _tie_groups(y, score)
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def log_loss(y_true: ArrayLike, y_score: ArrayLike, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood of the labels. Probabilities are clipped to [eps, 1 - eps] because a
    calibrated model (isotonic maps to exactly 0 or 1) would otherwise score infinity on one surprise."""
    y, p = _labels_probabilities(y_true, y_score)
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def brier(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Mean squared difference between probability and outcome: a bounded (0..1) probability score that,
    unlike log loss, does not let one confident miss dominate."""
    y, p = _labels_probabilities(y_true, y_score)
    return float(np.mean((p - y) ** 2))


def calibration_table(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin [k/n, (k+1)/n) (the last one includes 1): its bounds, row count,
    mean predicted probability and observed churn rate (NaN where the bin is empty). What the reliability
    diagram draws and what the expected calibration error sums."""
    y, p = _labels_probabilities(y_true, y_score)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    bins = np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(bins, weights=p, minlength=n_bins) / count
        observed = np.bincount(bins, weights=y, minlength=n_bins) / count
    edges = np.arange(n_bins + 1) / n_bins
    return pd.DataFrame({"lower": edges[:-1], "upper": edges[1:], "count": count,
                         "mean_predicted": mean_predicted, "observed": observed},
                        index=pd.RangeIndex(n_bins, name="bin"))


def expected_calibration_error(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> float:
    """Sum over equal-width bins of |observed rate - mean predicted| x bin share of rows: how far, on
    average, a stated churn probability is from what happens, which matters once probabilities are
    multiplied by CLV into value at risk."""
    table = calibration_table(y_true, y_score, n_bins)
    filled = table[table["count"] > 0]
    gap = (filled["observed"] - filled["mean_predicted"]).abs()
    return float((gap * filled["count"]).sum() / filled["count"].sum())


def lift_top_decile(y_true: ArrayLike, y_score: ArrayLike, fraction: float = 0.1) -> float:
    """Churn rate among the top `fraction` (10%) of scores over the overall churn rate: how many times
    better than random a campaign that can only reach that many customers does. The top count is rounded
    up; tied scores at its edge are taken in input order (stable sort), so the answer is reproducible."""
    y, score = _labels_scores(y_true, y_score)
    base_rate = y.mean()
    if base_rate == 0.0:
        raise ValueError("lift is undefined when y_true holds a single class (all 0): need churners")
    top = y[np.argsort(-score, kind="stable")[:_top_count(y.size, fraction)]]
    return float(top.mean() / base_rate)


def gains_table(y_true: ArrayLike, y_score: ArrayLike, n_groups: int = 10) -> pd.DataFrame:
    """Cumulative gains by score group (deciles by default), highest scores first: customers and churners
    reached down to each group, their shares of all customers and churners, and the cumulative lift. Group
    ends are rounded up as in `lift_top_decile`, so the first row's lift equals it."""
    y, score = _labels_scores(y_true, y_score)
    if y.sum() == 0:
        raise ValueError("gains are undefined when y_true holds a single class (all 0): need churners")
    if n_groups < 1:
        raise ValueError(f"n_groups must be at least 1, got {n_groups}")
    reached = np.cumsum(y[np.argsort(-score, kind="stable")])
    ends = -(-np.arange(1, n_groups + 1) * y.size // n_groups)
    churners = reached[ends - 1]
    return pd.DataFrame({
        "customers": ends, "churners": churners, "share_of_customers": ends / y.size,
        "share_of_churners": churners / reached[-1], "cumulative_lift": (churners / ends) / y.mean(),
    }, index=pd.RangeIndex(1, n_groups + 1, name="group"))


METRICS: dict[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "log_loss": log_loss,
    "brier": brier,
    "expected_calibration_error": expected_calibration_error,
    "lift_top_decile": lift_top_decile,
}


def classification_report(y_true: ArrayLike, y_score: ArrayLike, prefix: str) -> dict[str, float]:
    """Every churn metric with its default settings, keyed f"{prefix}_{name}" (e.g. "test_roc_auc"), ready
    for the tracking module. Raises like the metrics do, e.g. on a single-class set where AUC is undefined."""
    y, score = _labels_scores(y_true, y_score)
    _require_both_classes(y, "ROC AUC")
    return {f"{prefix}_{name}": metric(y, score) for name, metric in METRICS.items()}
