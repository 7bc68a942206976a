"""Churn plots: each builds a Figure of the expected shape and renders to PNG without pyplot."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from training.churn_plots import (
    contribution_importance,
    plot_contributions,
    plot_gains,
    plot_reliability,
    plot_roc,
)


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=500) < 0.25).astype(int)
    return y, np.clip(0.25 + 0.4 * (y - 0.25) + rng.normal(0, 0.15, y.size), 0, 1)


@pytest.fixture(scope="module")
def contributions() -> tuple[np.ndarray, list[str], pd.DataFrame]:
    rng = np.random.default_rng(4)
    n = 300
    values = pd.DataFrame({
        "contacts_30d": rng.poisson(1.0, n).astype(float),
        "sentiment_last": np.where(rng.uniform(size=n) < 0.3, np.nan, rng.uniform(-1, 1, n)),
        "tenure_days": rng.uniform(0, 700, n),
        "nps_last_class": rng.choice(np.array(["detractor", "passive", "promoter", None], dtype=object), n),
    })
    names = ["contacts_30d", "sentiment_last", "tenure_days", "nps_last_class=detractor"]
    scale = np.array([0.5, 2.0, 0.1, 1.0])
    return rng.normal(0, 1, (n, len(names))) * scale, names, values


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _bars(ax) -> int:
    return sum(len(c) for c in ax.containers if isinstance(c, BarContainer))


def test_roc_draws_model_baselines_and_chance(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    rng = np.random.default_rng(0)
    baselines = {"RFM logistic": p + rng.normal(0, 0.3, p.size), "random": rng.uniform(size=p.size)}
    fig = plot_roc(y, p, baselines=baselines)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.lines) == 4
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0].startswith("model (AUC 0.") and labels[1].startswith("RFM logistic (AUC ")
    assert _png(fig).startswith(b"\x89PNG")


def test_roc_without_baselines(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    (ax,) = plot_roc(y, p, label="churn model").axes
    assert len(ax.lines) == 2
    assert ax.get_legend().get_texts()[0].get_text().startswith("churn model (AUC ")


def test_reliability_has_curve_and_counts(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    fig = plot_reliability(y, p, n_bins=8)
    top, bottom = fig.axes
    assert len(top.lines) == 2
    assert _bars(bottom) == 8
    assert sum(patch.get_height() for patch in bottom.patches) == y.size
    assert "ECE" in top.get_title()
    assert _png(fig).startswith(b"\x89PNG")


def test_gains_has_curves_and_one_lift_bar_per_decile(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    fig = plot_gains(y, p)
    gains, lift = fig.axes
    assert len(gains.lines) == 3
    assert _bars(lift) == 10
    assert len(lift.lines) == 1  # the lift = 1 reference
    assert _png(fig).startswith(b"\x89PNG")


def test_importance_is_mean_absolute_contribution_largest_first() -> None:
    contributions = np.array([[1.0, -3.0, 0.0], [-1.0, 1.0, 0.5]])
    importance = contribution_importance(contributions, ["a", "b", "c"])
    assert importance.index.tolist() == ["b", "a", "c"]
    np.testing.assert_allclose(importance.to_numpy(), [2.0, 1.0, 0.25])


def test_contributions_bars_only(contributions: tuple[np.ndarray, list[str], pd.DataFrame]) -> None:
    matrix, names, _ = contributions
    fig = plot_contributions(matrix, names, top=3)
    (ax,) = fig.axes
    assert _bars(ax) == 3
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels[-1] == "sentiment_last"  # the largest sits on top
    assert _png(fig).startswith(b"\x89PNG")


def test_contributions_with_values_adds_a_coloured_scatter(
        contributions: tuple[np.ndarray, list[str], pd.DataFrame]) -> None:
    matrix, names, values = contributions
    fig = plot_contributions(matrix, names, values, top=20)
    bars, swarm, colourbar = fig.axes
    assert _bars(bars) == 4  # fewer features than `top`
    (points,) = swarm.collections
    assert points.get_offsets().shape == (matrix.shape[0] * 4, 2)
    assert colourbar.get_ylabel().startswith("feature value")
    assert _png(fig).startswith(b"\x89PNG")


def test_contribution_shape_is_checked(contributions: tuple[np.ndarray, list[str], pd.DataFrame]) -> None:
    matrix, names, values = contributions
    with_bias = np.hstack([matrix, np.zeros((len(matrix), 1))])
    with pytest.raises(ValueError, match="bias column"):
        plot_contributions(with_bias, names)
    with pytest.raises(ValueError, match="rows"):
        plot_contributions(matrix, names, values.iloc[:10])
