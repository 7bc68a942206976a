"""The figures a training run logs: churn (ROC with baselines, reliability, gains, SHAP summary) and CLV
(calibration vs holdout, cumulative transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.churn import ChurnModel
from training.churn_plots import plot_contributions, plot_gains, plot_reliability, plot_roc
from training.clv_evaluation import ClvEvaluation
from training.clv_plots import cumulative_transactions, plot_calibration_holdout, plot_cumulative_transactions

SHAP_ROWS = 5000


def churn_figures(model: ChurnModel, test: pd.DataFrame, labels: np.ndarray,
                  scores: Mapping[str, np.ndarray]) -> dict[str, Figure]:
    baselines = {name: score for name, score in scores.items() if name != "churn_model"}
    sample = test.iloc[np.linspace(0, len(test) - 1, min(SHAP_ROWS, len(test))).astype(int)]
    matrix = model.space.matrix(sample)
    values = pd.DataFrame(matrix, columns=model.space.labels)
    return {
        "churn_roc": plot_roc(labels, scores["churn_model"], baselines, label="churn model"),
        "churn_reliability": plot_reliability(labels, scores["churn_model"]),
        "churn_gains": plot_gains(labels, scores["churn_model"]),
        "churn_shap_summary": plot_contributions(model.contributions(matrix, exact=True), model.space.labels,
                                                 values),
    }


def clv_figures(evaluation: ClvEvaluation, transactions: ir.Table, calibration_end: dt.date,
                holdout_end: dt.date) -> dict[str, Figure]:
    curve = cumulative_transactions(transactions, evaluation.model, holdout_end)
    return {
        "clv_calibration_holdout": plot_calibration_holdout(evaluation.frame),
        "clv_cumulative_transactions": plot_cumulative_transactions(curve, calibration_end),
    }
