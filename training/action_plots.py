"""The Qini plot of the action evaluation as a matplotlib Figure (no pyplot, no files; `training.tracking`
decides where it goes)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

LABELS = {"value_saved": "by predicted value saved", "value_at_risk": "by value at risk",
          "random": "random order"}


def plot_qini(curve: pd.DataFrame, shares: Sequence[float]) -> Figure:
    """Cumulative realized value saved against the share of the base treated, for each ranking and a random
    order, with the evaluated K marked: how much of what acting can save each ordering finds first."""
    fig = Figure(figsize=(7, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for column, label in LABELS.items():
        ax.plot(curve["share"] * 100, curve[column], label=label,
                linestyle=":" if column == "random" else "-", linewidth=1.2 if column == "random" else 2.0)
    for share in shares:
        ax.axvline(share * 100, color="grey", linewidth=0.6, linestyle="--")
    ax.set_xlabel("customers treated, % of the base (best first)")
    ax.set_ylabel("realized value saved (simulated world)")
    ax.set_title("Qini curve: value saved by treating the top K with their best action")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
