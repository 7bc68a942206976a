"""The fitted models as MLflow pyfunc models, so that the registry, `mlflow models serve` and our API all load
the same thing. Each wrapper stores plain artifacts (booster JSON, parameters JSON), never pickled objects."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.pyfunc import PythonModel

from training.churn import ChurnModel, FeatureSpace
from training.clv import ClvModel, FitAttempt

RFM_INPUT = ["frequency", "recency", "T", "monetary_value"]
CLV_OUTPUTS = ("p_alive", "expected_purchases", "expected_spend", "clv")


def save_churn_artifacts(model: ChurnModel, folder: Path) -> dict[str, str]:
    """Write the booster and its metadata; returns the artifact map for `log_model`."""
    folder.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(folder / "booster.json")
    meta = {"space": model.space.model_dump(), "best_iteration": model.best_iteration,
            "calibration_x": model.calibration_x.tolist(), "calibration_y": model.calibration_y.tolist()}
    (folder / "churn_meta.json").write_text(json.dumps(meta))
    return {"booster": str(folder / "booster.json"), "meta": str(folder / "churn_meta.json")}


def load_churn_artifacts(artifacts: dict[str, str]) -> ChurnModel:
    booster = xgb.Booster()
    booster.load_model(artifacts["booster"])
    meta = json.loads(Path(artifacts["meta"]).read_text())
    return ChurnModel(FeatureSpace.model_validate(meta["space"]), booster, int(meta["best_iteration"]),
                      np.asarray(meta["calibration_x"]), np.asarray(meta["calibration_y"]))


class ChurnPyfunc(PythonModel):  # type: ignore[misc]
    """Feature rows in, calibrated churn probability out."""

    model: ChurnModel

    def load_context(self, context: Any) -> None:
        self.model = load_churn_artifacts(context.artifacts)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.model.predict_proba(model_input)})


def save_clv_artifacts(model: ClvModel, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clv_params.json").write_text(json.dumps(asdict(model)))
    return {"params": str(folder / "clv_params.json")}


def load_clv_artifacts(artifacts: dict[str, str]) -> ClvModel:
    stored = json.loads(Path(artifacts["params"]).read_text())
    stored["attempts"] = tuple(FitAttempt(**attempt) for attempt in stored.get("attempts", ()))
    return ClvModel(**stored)


class ClvPyfunc(PythonModel):  # type: ignore[misc]
    """RFM rows in, P(alive), expected purchases, expected spend and discounted CLV out."""

    model: ClvModel
    horizon_months: int = 12
    monthly_discount_rate: float = 0.01

    def __init__(self, horizon_months: int = 12, monthly_discount_rate: float = 0.01) -> None:
        self.horizon_months = horizon_months
        self.monthly_discount_rate = monthly_discount_rate

    def load_context(self, context: Any) -> None:
        self.model = load_clv_artifacts(context.artifacts)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return clv_outputs(self.model, model_input, self.horizon_months, self.monthly_discount_rate)


def clv_outputs(model: ClvModel, rfm: pd.DataFrame, horizon_months: int, monthly_discount_rate: float
                ) -> pd.DataFrame:
    """The per-customer CLV figures the service reports, by position; customers without a purchase get NaN."""
    values = rfm[RFM_INPUT].to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(values).any(axis=1)
    out = np.full((len(values), len(CLV_OUTPUTS)), np.nan)
    if known.any():
        figures = model.figures(pd.DataFrame(values[known], columns=RFM_INPUT), horizon_months,
                                monthly_discount_rate)
        out[known] = figures[list(CLV_OUTPUTS)].to_numpy()
    return pd.DataFrame(out, columns=list(CLV_OUTPUTS))
