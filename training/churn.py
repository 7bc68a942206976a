"""Fitting the churn model (`models.churn.ChurnModel`): gradient-boosted trees (XGBoost) on the feature table,
calibrated on held-out data.

Features enter with the monotone direction their catalogue entry gives: a customer whose sentiment gets
worse never gets a lower score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import BaseModel, ConfigDict
from sklearn.isotonic import IsotonicRegression

from features.catalogue import Feature
from models.churn import ChurnModel
from models.space import FeatureSpace
from retain.errors import RetainError


class ChurnParams(BaseModel):
    """XGBoost settings; early stopping picks the number of trees on the validation cutoff."""

    model_config = ConfigDict(frozen=True)

    max_rounds: int = 500
    learning_rate: float = 0.1
    max_depth: int = 5
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 30
    threads: int = 2


def _require_both_classes(labels: pd.Series, stage: str) -> None:
    if labels.nunique() < 2:
        seen = labels.iloc[0] if len(labels) else "none"
        raise RetainError(f"the {stage} cutoff has only one class of churn label ({seen}): need churners and"
                          " non-churners; use a later --as-of or more data")


def fit_churn(train: pd.DataFrame, validation: pd.DataFrame, features: Sequence[Feature], label: str,
              params: ChurnParams, seed: int) -> ChurnModel:
    """Train on the training cutoffs, stop early and calibrate (isotonic) on the validation cutoff."""
    _require_both_classes(train[label], "training")
    _require_both_classes(validation[label], "validation")
    space = FeatureSpace.learn(train, features)
    dtrain = xgb.DMatrix(space.matrix(train), label=train[label].to_numpy(), feature_names=space.columns)
    dvalid = xgb.DMatrix(space.matrix(validation), label=validation[label].to_numpy(), feature_names=space.columns)
    booster = xgb.train(
        {"objective": "binary:logistic", "eval_metric": "logloss", "eta": params.learning_rate,
         "max_depth": params.max_depth, "min_child_weight": params.min_child_weight,
         "subsample": params.subsample, "colsample_bytree": params.colsample_bytree,
         "lambda": params.reg_lambda, "nthread": params.threads, "seed": seed, "tree_method": "hist",
         "monotone_constraints": space.monotone_constraints()},
        dtrain, num_boost_round=params.max_rounds, evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
    )
    model = ChurnModel(space, booster, int(booster.best_iteration), np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    raw = model.raw_probability(space.matrix(validation))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, validation[label].to_numpy())
    model.calibration_x = np.asarray(iso.X_thresholds_, dtype=float)
    model.calibration_y = np.asarray(iso.y_thresholds_, dtype=float)
    return model


def without_service(features: Sequence[Feature]) -> list[Feature]:
    """The ablation's feature set: everything but effort, resolution, sentiment and survey."""
    return [f for f in features if not f.is_service]
