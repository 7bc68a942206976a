"""Baselines the churn model must beat, trained and scored in the same run: logistic regression on RFM only,
and 1 - P(alive) from the CLV model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from features.rfm import RFM_COLUMNS
from models.clv import ClvModel

RFM = list(RFM_COLUMNS)


def logistic_rfm_scores(train: pd.DataFrame, test: pd.DataFrame, label: str) -> np.ndarray:
    """Churn probability from a logistic regression on log-scaled RFM, fitted on the training rows."""
    model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train[RFM].astype(float).to_numpy(), train[label].to_numpy())
    return np.asarray(model.predict_proba(test[RFM].astype(float).to_numpy())[:, 1])


def one_minus_p_alive(clv: ClvModel, test: pd.DataFrame) -> np.ndarray:
    """The BG/NBD view of churn: the chance the customer is no longer active."""
    return 1.0 - clv.p_alive(test[RFM].astype(float)).to_numpy()
