"""The churn model's diagnostic plots as matplotlib Figures (no pyplot, no files): ROC against baselines,
reliability diagram, cumulative gains and lift, and a SHAP-style summary of XGBoost contributions.

The numbers come from `training.evaluation` (and `contribution_importance` here), so they can be tested
and logged without drawing. Figures are built on the Agg canvas directly, without pyplot's global figure
registry, so building many in a process leaks nothing; the tracking module decides where they go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from training.evaluation import (
    calibration_table,
    expected_calibration_error,
    gains_table,
    roc_auc,
    roc_curve_points,
)

__all__ = ["contribution_importance", "plot_contributions", "plot_gains", "plot_reliability", "plot_roc"]

GOLDEN = 0.6180339887498949


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_roc(y_true: ArrayLike, y_score: ArrayLike, baselines: Mapping[str, ArrayLike] | None = None,
             label: str = "model") -> Figure:
    """ROC curve of the model and of each named baseline (e.g. RFM logistic regression, 1 - P(alive)) on
    the same axes, AUC in the legend, plus the chance diagonal: whether the model beats the cheap
    alternatives at every operating point, not only on average."""
    fig = _figure(5.5, 5.5)
    ax = fig.add_subplot()
    curves = [(label, y_score), *(baselines or {}).items()]
    for i, (name, score) in enumerate(curves):
        fpr, tpr = roc_curve_points(y_true, score)
        auc = roc_auc(y_true, score)
        ax.plot(fpr, tpr, linewidth=2.0 if i == 0 else 1.2, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance (AUC 0.500)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate (stayers flagged)")
    ax.set_ylabel("true positive rate (churners caught)")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_reliability(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> Figure:
    """Observed churn rate against mean predicted probability per equal-width bin, with the diagonal of
    perfect calibration and, below, how many customers each bin holds (a bin of five proves nothing)."""
    table = calibration_table(y_true, y_score, n_bins)
    ece = expected_calibration_error(y_true, y_score, n_bins)
    fig = _figure(6, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    top.plot(table["mean_predicted"], table["observed"], marker="o", label="model")
    top.set_ylim(0, 1)
    top.set_ylabel("observed churn rate")
    top.set_title(f"Reliability diagram (ECE {ece:.3f})")
    top.legend(loc="upper left")
    centres = (table["lower"] + table["upper"]) / 2
    bottom.bar(centres, table["count"], width=0.9 / n_bins, color="tab:blue", alpha=0.6)
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("predicted churn probability")
    bottom.set_ylabel("customers")
    fig.tight_layout()
    return fig


def plot_gains(y_true: ArrayLike, y_score: ArrayLike, n_groups: int = 10) -> Figure:
    """Cumulative gains (share of churners reached when contacting the top x% of scores) next to the
    cumulative lift per group: how far down the list a retention campaign should go."""
    table = gains_table(y_true, y_score, n_groups)
    base_rate = float(table["churners"].iloc[-1] / table["customers"].iloc[-1])
    fig = _figure(11, 4.5)
    gains, lift = fig.subplots(1, 2)
    share = np.r_[0.0, table["share_of_customers"]]
    gains.plot(share, np.r_[0.0, table["share_of_churners"]], marker="o", label="model")
    gains.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    gains.plot(share, np.minimum(share / base_rate, 1.0), color="black", linestyle="--", linewidth=0.8,
               label="perfect")
    gains.set_xlabel("share of customers contacted (highest scores first)")
    gains.set_ylabel("share of churners reached")
    gains.set_title("Cumulative gains")
    gains.legend(loc="lower right")
    lift.bar(table.index, table["cumulative_lift"], color="tab:blue")
    lift.axhline(1.0, color="grey", linestyle=":")
    lift.set_xticks(table.index)
    lift.set_xlabel(f"score group (1 = top {100 / n_groups:.0f}%)")
    lift.set_ylabel("cumulative lift")
    lift.set_title("Cumulative lift")
    fig.tight_layout()
    return fig


def _check_contributions(contributions: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    matrix = np.asarray(contributions, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(feature_names):
        raise ValueError(f"contributions must be (rows, {len(feature_names)} features), got {matrix.shape}; "
                         "drop XGBoost's bias column (the last one of pred_contribs)")
    return matrix


def contribution_importance(contributions: np.ndarray, feature_names: Sequence[str]) -> pd.Series:
    """Mean |contribution| per feature, largest first (ties in name order): the global importance that
    tree SHAP values imply, in log-odds, comparable across features unlike split counts or gain."""
    matrix = _check_contributions(contributions, feature_names)
    importance = pd.Series(np.abs(matrix).mean(axis=0), index=list(feature_names),
                           name="mean_abs_contribution")
    return importance.sort_values(ascending=False, kind="stable")


def _colour_rank(values: pd.DataFrame, feature: str) -> np.ndarray:
    """A feature's values as percentile ranks in [0, 1] (so all features share one colour scale); NaN
    where missing or not numeric. A one-hot name "segment=basic" reads the raw column as 1 / 0."""
    base, sep, level = feature.partition("=")
    if feature in values.columns:
        column = values[feature]
    elif sep and base in values.columns:
        raw = values[base]
        column = (raw.astype("string") == level).fillna(False).astype(float).where(raw.notna())
    else:
        return np.full(len(values), np.nan)
    numeric = pd.to_numeric(column, errors="coerce").astype(float)
    return numeric.rank(pct=True).to_numpy()


def _beeswarm(ax: Axes, matrix: np.ndarray, names: list[str], columns: list[int], values: pd.DataFrame,
              max_rows: int) -> None:
    """One row of points per feature: contribution on x, deterministic jitter on y, colour = value rank."""
    rows = np.unique(np.linspace(0, len(matrix) - 1, min(max_rows, len(matrix))).astype(int))
    jitter = ((np.arange(rows.size) * GOLDEN) % 1.0 - 0.5) * 0.6
    shown = values.iloc[rows]
    xs, ys, colours = [], [], []
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        xs.append(matrix[rows, column])
        ys.append(len(names) - 1 - position + jitter)
        colours.append(_colour_rank(shown, name))
    cmap = colormaps["coolwarm"].with_extremes(bad="lightgrey")
    points = ax.scatter(np.concatenate(xs), np.concatenate(ys), c=np.concatenate(colours), cmap=cmap,
                        vmin=0, vmax=1, s=6, plotnonfinite=True)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(names)), labels=names[::-1])
    ax.set_xlabel("contribution to churn log-odds")
    ax.set_title("Contribution by feature value")
    ax.figure.colorbar(points, ax=ax, label="feature value (rank: low to high; grey = missing)")


def plot_contributions(contributions: np.ndarray, feature_names: Sequence[str],
                       values: pd.DataFrame | None = None, top: int = 20, max_rows: int = 5000) -> Figure:
    """SHAP-style summary of XGBoost contributions (pred_contribs without the bias column): mean
    |contribution| of the `top` features as horizontal bars and, when the feature values are given, each
    row's contribution coloured by its value, so one sees both how much a feature matters and in which
    direction. The scatter uses at most `max_rows` evenly spaced rows to keep the figure light."""
    matrix = _check_contributions(contributions, feature_names)
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if values is not None and len(values) != len(matrix):
        raise ValueError(f"values has {len(values)} rows, contributions {len(matrix)}")
    importance = contribution_importance(matrix, feature_names).iloc[:top]
    names = list(importance.index)
    columns = [list(feature_names).index(name) for name in names]
    fig = _figure(12 if values is not None else 7, 1.5 + 0.32 * len(names))
    axes = fig.subplots(1, 2 if values is not None else 1, sharey=values is not None, squeeze=False)[0]
    bars = axes[0]
    bars.barh(range(len(names))[::-1], importance.to_numpy(), color="tab:blue")
    bars.set_yticks(range(len(names)), labels=names[::-1])
    bars.set_xlabel("mean |contribution| (log-odds)")
    bars.set_title(f"Top {len(names)} features")
    if values is not None:
        _beeswarm(axes[1], matrix, names, columns, values, max_rows)
    fig.tight_layout()
    return fig
