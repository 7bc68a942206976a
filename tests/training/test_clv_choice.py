"""The CLV model choice on a validation window, the hybrid's gate, the 80% interval's coverage and the stored
model, on customers drawn from each buy-till-you-die story with known parameters."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from features.rfm import RFM_COLUMNS
from models.artifacts import load_clv, save_clv
from models.clv import CLV_OUTPUTS, ClvModel
from models.clv_hybrid import CORRECTION_INPUTS, Correction
from tests.training.btyd_simulation import simulate_frame
from training.clv_choice import ClvWindows, Window, choose_purchase_model, hybrid_wins
from training.clv_evaluation import holdout_metrics
from training.clv_intervals import interval_table

STORIES = {  # parameters in weeks under which each story is told apart from the other two
    "bgnbd": {"r": 0.5, "alpha": 5.0, "a": 1.5, "b": 1.0},
    "mbgnbd": {"r": 2.0, "alpha": 10.0, "a": 3.0, "b": 1.0},
    "pareto_nbd": {"r": 0.5, "alpha": 5.0, "s": 1.5, "beta": 20.0},
}
SIZES = {"bgnbd": 2000, "mbgnbd": 3000, "pareto_nbd": 2000}


@pytest.mark.parametrize("story", list(STORIES))
def test_each_candidate_wins_on_data_from_its_own_story(story: str) -> None:
    frame = simulate_frame(story, STORIES[story], SIZES[story], 26.0, np.random.default_rng(1))
    chosen, fitted, measured = choose_purchase_model(frame, "W")
    assert chosen == story, {kind: round(m["purchases_rmse"], 4) for kind, m in measured.items()}
    assert set(measured) == {"bgnbd", "mbgnbd", "pareto_nbd"}
    assert fitted[story].purchase_model == story and set(fitted[story].params) >= set(STORIES[story])


def _figures(mae: float, aggregate: float) -> dict[str, float]:
    return {"purchases_mae": mae, "purchases_aggregate_error": aggregate}


@pytest.mark.parametrize(("hybrid", "btyd", "wins"), [
    (_figures(0.30, 0.02), _figures(0.32, 0.01), True),
    (_figures(0.30, 0.09), _figures(0.32, 0.01), False),  # lower MAE, but the total is off by more than 5%
    (_figures(0.30, -0.09), _figures(0.32, 0.12), True),  # off by 9%, yet nearer than BTYD's 12%
    (_figures(0.33, 0.00), _figures(0.32, 0.10), False),  # a better total does not make up for a higher MAE
])
def test_hybrid_replaces_btyd_only_with_lower_mae_and_a_total_in_bounds(hybrid: dict, btyd: dict,
                                                                       wins: bool) -> None:
    verdict, reason = hybrid_wins(hybrid, btyd)
    assert verdict is wins
    assert ("hybrid replaces BTYD" in reason) is wins


def test_windows_must_close_before_the_next_stage() -> None:
    day = pd.Timestamp("2025-01-01").date()
    later = pd.Timestamp("2025-04-01").date()
    with pytest.raises(ValueError, match="training window"):
        ClvWindows(train=(Window(day, later + pd.Timedelta(days=1)),), validation=Window(later, later),
                   holdout=Window(later, later))
    with pytest.raises(ValueError, match="validation window"):
        ClvWindows(train=(), validation=Window(day, later), holdout=Window(day, later))


def _true_model(params: dict[str, float]) -> ClvModel:
    return ClvModel(unit="W", **params, p=6.0, q=4.0, v=15.0, bgnbd_penalizer=0.0, gamma_gamma_penalizer=0.0)


def test_the_interval_covers_80_percent_of_new_customers_with_known_parameters() -> None:
    """Table from one draw (the validation window), coverage on another draw of the same story."""
    params = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 18.0}  # BG/NBD's conditional mean needs a > 1
    model = _true_model(params)
    validation = simulate_frame("bgnbd", params, 6000, 26.0, np.random.default_rng(2))
    holdout = simulate_frame("bgnbd", params, 6000, 26.0, np.random.default_rng(3))
    table = interval_table(model, validation, None)
    _, metrics = holdout_metrics(replace(model, interval=table), holdout)
    assert 0.75 <= metrics["interval_coverage"] <= 0.85, metrics["interval_coverage"]
    assert all(low <= high for low, high in zip(table.low, table.high, strict=True))


def test_without_a_table_the_interval_is_the_point_value() -> None:
    model = _true_model(STORIES["bgnbd"])
    out = model.outputs(np.array([[2.0, 10.0, 30.0, 20.0], [np.nan] * 4]), 12, 0.01)
    clv, low, high = (out[:, CLV_OUTPUTS.index(name)] for name in ("clv", "clv_low", "clv_high"))
    assert low[0] == clv[0] == high[0] and np.isnan(out[1]).all()


def test_a_model_with_correction_and_interval_stores_and_scores_the_same(tmp_path: object) -> None:
    rng = np.random.default_rng(4)
    frame = simulate_frame("bgnbd", STORIES["bgnbd"], 500, 13.0, rng)
    model = _true_model(STORIES["bgnbd"])
    service = rng.normal(size=(len(frame), 2))
    inputs = np.column_stack([frame[list(RFM_COLUMNS)].to_numpy(), np.ones(len(frame)), np.ones(len(frame)), service])
    booster = xgb.train({"objective": "count:poisson", "max_depth": 2}, xgb.DMatrix(
        inputs, frame["frequency_holdout"].to_numpy(), base_margin=np.zeros(len(frame))), 5)
    assert inputs.shape[1] == len(CORRECTION_INPUTS) + 2
    hybrid = replace(model, correction=Correction(booster, 13.0, ("contacts_90d", "sentiment_last")),
                     interval=interval_table(model, frame, None))
    loaded = load_clv(save_clv(hybrid, tmp_path / "clv"))  # type: ignore[operator]
    rfm = frame[list(RFM_COLUMNS)].to_numpy()
    ours, theirs = hybrid.outputs(rfm, 12, 0.01, service), loaded.outputs(rfm, 12, 0.01, service)
    np.testing.assert_allclose(theirs, ours, rtol=1e-6)
    assert loaded.interval == hybrid.interval and loaded.correction is not None
    assert loaded.correction.service == ("contacts_90d", "sentiment_last")
    assert not np.allclose(ours, model.outputs(rfm, 12, 0.01), equal_nan=True)  # the correction changes CLV
