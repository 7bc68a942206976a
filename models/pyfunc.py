"""The fitted models as MLflow pyfunc models, so the registry, `mlflow models serve` and a data scientist's
`mlflow.pyfunc.load_model(...)` all get the same thing; each stores the plain artifacts of `models.artifacts`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from features.rfm import RFM_COLUMNS
from models.artifacts import load_churn, load_clv
from models.churn import ChurnModel
from models.clv import CLV_OUTPUTS, ClvModel


class ChurnPyfunc(PythonModel):  # type: ignore[misc]
    """Feature rows in, calibrated churn probability out."""

    model: ChurnModel

    def load_context(self, context: Any) -> None:
        self.model = load_churn(context.artifacts)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.model.predict_proba(model_input)})


class ClvPyfunc(PythonModel):  # type: ignore[misc]
    """RFM rows (plus the hybrid correction's service features, if it carries one) in; P(alive), expected
    purchases, expected spend, discounted CLV and its 80% interval out (NaN without RFM)."""

    model: ClvModel
    horizon_months: int = 12
    monthly_discount_rate: float = 0.01

    def __init__(self, horizon_months: int = 12, monthly_discount_rate: float = 0.01) -> None:
        self.horizon_months = horizon_months
        self.monthly_discount_rate = monthly_discount_rate

    def load_context(self, context: Any) -> None:
        self.model = load_clv(context.artifacts)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        values = model_input[list(RFM_COLUMNS)].to_numpy(dtype=float, na_value=np.nan)
        service = self.model.correction.service if self.model.correction is not None else ()
        extra = model_input.reindex(columns=list(service)).to_numpy(dtype=float, na_value=np.nan) if service else None
        figures = self.model.outputs(values, self.horizon_months, self.monthly_discount_rate, extra)
        return pd.DataFrame(figures, columns=list(CLV_OUTPUTS))
