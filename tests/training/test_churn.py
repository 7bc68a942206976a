"""The churn model on a small generated training set: probabilities, calibration, the feature space,
monotone sentiment, clear errors and exact contributions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from features.build import FeatureConfig, catalogue
from features.catalogue import Feature
from features.snapshot import prepare_sources
from models.churn import ChurnModel
from models.space import FeatureSpace
from retain.errors import RetainError
from retain.ingest import DataSet, load
from retain.sample import write_sample
from retain.simulate import generate
from training.churn import ChurnParams, fit_churn, without_service
from training.dataset import LABEL, training_frames
from training.evaluation import roc_auc
from training.labels import CutoffPlan, churn_labels, plan_cutoffs

CONFIG = FeatureConfig()
PARAMS = ChurnParams(max_rounds=80, threads=1)
SEED = 7


@dataclass
class Fitted:
    data: DataSet
    plan: CutoffPlan
    frames: dict[str, pd.DataFrame]
    features: list[Feature]
    model: ChurnModel


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    folder = tmp_path_factory.mktemp("churn-data")
    write_sample(generate(1500, 4242), folder)
    data = load(folder)
    plan = plan_cutoffs(dt.date(2025, 12, 31), 90, 2, 30)
    sources = prepare_sources(data.con, data, None)
    frames = training_frames(sources, data.customers, data.transactions, plan, CONFIG, 90)
    features = catalogue(CONFIG)
    model = fit_churn(frames["train"], frames["validation"], features, LABEL, PARAMS, SEED)
    return Fitted(data, plan, frames, features, model)


def test_training_frames_are_point_in_time_rows_with_their_labels(fitted: Fitted) -> None:
    frames, plan, data = fitted.frames, fitted.plan, fitted.data
    for name, cutoffs in (("train", plan.train), ("validation", (plan.validation,)), ("test", (plan.test,))):
        day = pd.to_datetime(frames[name]["as_of"]).dt.date
        assert sorted(day.unique()) == list(cutoffs)
        for cutoff in cutoffs:
            rows = frames[name][day == cutoff]
            assert rows["customer_id"].is_unique and rows["T"].notna().all()  # only customers who had bought
            expected = churn_labels(data.customers, data.transactions, cutoff, 90)
            np.testing.assert_array_equal(rows[LABEL].to_numpy(), expected[rows["customer_id"]].to_numpy())
            assert 0 < rows[LABEL].mean() < 1


def test_probabilities_are_probabilities_and_rank_churners_first(fitted: Fitted) -> None:
    test = fitted.frames["test"]
    probability = fitted.model.predict_proba(test)
    assert probability.shape == (len(test),)
    assert np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    assert roc_auc(test[LABEL].to_numpy(), probability) > 0.7  # out of time, on 1,500 customers


def test_isotonic_calibration_map_is_monotone(fitted: Fitted) -> None:
    model = fitted.model
    assert np.all(np.diff(model.calibration_x) > 0)
    assert np.all(np.diff(model.calibration_y) >= 0)
    assert model.calibration_y.min() >= 0 and model.calibration_y.max() <= 1
    grid = np.linspace(-0.5, 1.5, 2001)  # beyond the fitted range too: clipped, never extrapolated
    calibrated = model.calibrate(grid)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated[0] == model.calibration_y[0] and calibrated[-1] == model.calibration_y[-1]
    # calibration on the validation cutoff: the mean calibrated probability matches its churn rate
    validation = fitted.frames["validation"]
    assert model.predict_proba(validation).mean() == pytest.approx(validation[LABEL].mean(), abs=1e-6)


def test_feature_space_unknown_categories_and_missing_numerics() -> None:
    space = FeatureSpace(numeric=("a", "b"), categories={"segment": ("basic", "plus")})
    assert space.columns == ["a", "b", "segment#0", "segment#1"]  # names XGBoost accepts whatever the values
    assert space.labels == ["a", "b", "segment=basic", "segment=plus"]
    frame = pd.DataFrame({
        "a": pd.array([1, None, 3], dtype="Int64"),
        "b": pd.array([0.5, 1.5, None], dtype="Float64"),
        "segment": pd.array(["plus", "premium", None], dtype="string"),  # known, unseen, missing
        "ignored": ["x", "y", "z"],
    })
    matrix = space.matrix(frame)
    assert matrix.dtype == np.float32
    expected = np.array([[1, 0.5, 0, 1], [np.nan, 1.5, 0, 0], [3, np.nan, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(matrix, expected)
    # column order in the frame does not matter; the space picks columns by name
    np.testing.assert_array_equal(space.matrix(frame[["segment", "ignored", "b", "a"]]), expected)


def test_learned_space_maps_unseen_categories_to_zero_and_scores_them(fitted: Fitted) -> None:
    space = fitted.model.space
    assert space.columns == fitted.model.booster.feature_names
    assert set(space.categories) == {f.name for f in fitted.features if f.kind == "category"}
    rows = fitted.frames["test"].head(20).copy()
    rows["segment"] = pd.array(["never-seen"] * len(rows), dtype="string")
    one_hot = space.matrix(rows)[:, len(space.numeric):]
    one_hot_names = space.labels[len(space.numeric):]
    segment_columns = [i for i, c in enumerate(one_hot_names) if c.startswith("segment=")]
    assert segment_columns and not one_hot[:, segment_columns].any()
    unknown = fitted.model.predict_proba(rows)
    rows["segment"] = pd.array([None] * len(rows), dtype="string")
    np.testing.assert_array_equal(unknown, fitted.model.predict_proba(rows))  # unseen == missing


def _sentiment_columns(frame: pd.DataFrame) -> dict[str, list[str]]:
    levels = [c for c in frame.columns if c.startswith(("sentiment_mean_", "sentiment_min_"))]
    return {"lower": [*levels, "sentiment_last", "sentiment_trend"],
            "higher": [c for c in frame.columns if c.startswith("negative_share_")]}


def _worse(frame: pd.DataFrame, amount: float) -> pd.DataFrame:
    """The same customers with a more negative tone: known sentiment levels down, negative shares up."""
    worse = frame.copy()
    columns = _sentiment_columns(frame)
    for column in columns["lower"]:
        worse[column] = (worse[column] - amount).clip(lower=-1.0)
    for column in columns["higher"]:
        worse[column] = (worse[column] + amount).clip(upper=1.0)
    return worse


@pytest.mark.parametrize("amount", [0.05, 0.3, 2.0])
def test_worse_sentiment_never_lowers_churn_probability(fitted: Fitted, amount: float) -> None:
    rows = pd.concat([fitted.frames["validation"], fitted.frames["test"]], ignore_index=True)
    columns = _sentiment_columns(rows)
    assert len(columns["lower"]) == 8 and len(columns["higher"]) == 3
    used = set(fitted.model.booster.get_score(importance_type="weight"))
    assert used & {*columns["lower"], *columns["higher"]}, "the model never splits on sentiment: vacuous test"
    with_text = rows[rows["sentiment_last"].notna()]
    assert len(with_text) > 100
    base = fitted.model.predict_proba(with_text)
    worse = fitted.model.predict_proba(_worse(with_text, amount))
    assert np.all(worse >= base - 1e-12)
    raw_base = fitted.model.raw_probability(fitted.model.space.matrix(with_text))
    raw_worse = fitted.model.raw_probability(fitted.model.space.matrix(_worse(with_text, amount)))
    assert np.all(raw_worse >= raw_base - 1e-7)  # float32 inside xgboost
    assert np.any(raw_worse > raw_base + 1e-6), "sentiment never moved the score: vacuous test"


def test_monotone_constraints_cover_exactly_the_sentiment_columns(fitted: Fitted) -> None:
    space = fitted.model.space
    signs = [int(s) for s in space.monotone_constraints().strip("()").split(",")]
    assert len(signs) == len(space.columns)
    by_column = dict(zip(space.columns, signs, strict=True))
    columns = _sentiment_columns(fitted.frames["test"])
    assert {c for c, s in by_column.items() if s == -1} == set(columns["lower"])
    assert {c for c, s in by_column.items() if s == 1} == set(columns["higher"])


@pytest.mark.parametrize("stage", ["training", "validation"])
def test_single_class_labels_raise_a_clear_error(fitted: Fitted, stage: str) -> None:
    train, validation = fitted.frames["train"].copy(), fitted.frames["validation"].copy()
    (train if stage == "training" else validation)[LABEL] = 1
    with pytest.raises(RetainError, match=f"the {stage} cutoff has only one class of churn label \\(1\\)"):
        fit_churn(train, validation, fitted.features, LABEL, PARAMS, SEED)


def test_contributions_add_up_to_the_margin(fitted: Fitted) -> None:
    model = fitted.model
    matrix = model.space.matrix(fitted.frames["test"])
    contributions = model.contributions(matrix)
    assert contributions.shape == (len(matrix), len(model.space.columns))
    dmatrix = xgb.DMatrix(matrix, feature_names=model.space.columns)
    iterations = (0, model.best_iteration + 1)
    margin = model.booster.predict(dmatrix, output_margin=True, iteration_range=iterations)
    bias = model.booster.predict(dmatrix, pred_contribs=True, iteration_range=iterations)[:, -1]
    assert np.ptp(bias) == 0  # one bias for every row
    np.testing.assert_allclose(contributions.sum(axis=1) + bias, margin, rtol=0, atol=1e-4)
    raw = model.raw_probability(matrix)  # the margin is the log-odds of the uncalibrated probability
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), raw, rtol=0, atol=1e-5)


def test_ablation_drops_every_service_family(fitted: Fitted) -> None:
    kept = without_service(fitted.features)
    assert {f.family for f in kept}.isdisjoint({"effort", "resolution", "sentiment", "survey"})
    assert {f.name for f in kept} >= {"frequency", "recency", "T", "monetary_value"}
    model = fit_churn(fitted.frames["train"], fitted.frames["validation"], kept, LABEL, PARAMS, SEED)
    assert not any(c.startswith(("sentiment_", "negative_share_", "ces_")) for c in model.space.columns)


def test_explain_gives_the_same_probability_as_predict_proba(fitted: Fitted) -> None:
    model = fitted.model
    matrix = model.space.matrix(fitted.frames["test"])
    probability, contributions = model.explain(matrix)
    np.testing.assert_array_equal(probability, model.predict_proba(fitted.frames["test"]))
    np.testing.assert_array_equal(contributions, model.contributions(matrix))
