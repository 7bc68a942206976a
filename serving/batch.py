"""Batch scoring: champion models over every customer's features at a cutoff, with reasons and value at risk.

Pure computation from a feature frame and loaded models; the CLI does the loading and the writing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.churn import ChurnModel
from training.clv import ClvModel
from training.pyfunc import clv_outputs
from training.reasons import reason_codes

TIERS = np.array(["low", "medium", "high"], dtype=object)


def risk_tiers(probability: np.ndarray, medium: float, high: float) -> np.ndarray:
    """'high' at or above `high`, 'medium' at or above `medium`, else 'low'."""
    return TIERS[(probability >= medium).astype(int) + (probability >= high).astype(int)]


def score_frame(features: pd.DataFrame, churn: ChurnModel, clv: ClvModel, horizon_months: int,
                monthly_discount_rate: float, medium: float, high: float) -> pd.DataFrame:
    """Per customer: churn probability and tier, CLV figures, value at risk (CLV x churn) and three reasons."""
    matrix = churn.space.matrix(features)
    probability, contributions = churn.explain(matrix)
    reasons = reason_codes(contributions, churn.space.columns, pd.DataFrame(matrix, columns=churn.space.columns))
    value = clv_outputs(clv, features, horizon_months, monthly_discount_rate)
    padded = [(row + [None, None, None])[:3] for row in reasons]
    scores = pd.DataFrame({
        "customer_id": features["customer_id"].astype(str).to_numpy(),
        "segment": features["segment"].to_numpy() if "segment" in features else None,
        "churn_probability": probability,
        "risk_tier": risk_tiers(probability, medium, high),
        "p_alive": value["p_alive"].to_numpy(),
        "expected_purchases": value["expected_purchases"].to_numpy(),
        "clv": value["clv"].to_numpy(),
    })
    scores["value_at_risk"] = scores["clv"] * scores["churn_probability"]
    scores[["reason_1", "reason_2", "reason_3"]] = pd.DataFrame(padded, index=scores.index)
    return scores
