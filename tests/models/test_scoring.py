"""The one scoring core on models fitted here: any segment the contract allows trains, scores and explains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureConfig, catalogue
from features.rfm import RFM_COLUMNS
from models.population import TierThresholds
from models.scoring import FeatureBlock, Scorer, score
from training.churn import ChurnParams, fit_churn
from training.clv import fit_clv

# brackets and `<` once stopped XGBoost (one-hot columns were named `segment=<value>`); quotes, emoji, length
AWKWARD_SEGMENTS = ("Gold [legacy]", "<18", 'say "hi"', "VIP \U0001f451", "x" * 500)
CHURN_RATES = (0.9, 0.7, 0.5, 0.3, 0.1)  # by segment, in that order: the segment is what drives churn here


def _customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    which = rng.integers(0, len(AWKWARD_SEGMENTS), n)
    frequency = rng.poisson(2.0, n).astype(float)
    age = rng.uniform(30, 400, n)
    recency = np.where(frequency > 0, age * rng.uniform(0.1, 1.0, n), 0.0)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "segment": pd.array(np.asarray(AWKWARD_SEGMENTS, dtype=object)[which], dtype="string"),
        "tenure_days": age.round(),
        "frequency": frequency, "recency": recency.round(), "T": age.round(),
        "monetary_value": np.where(frequency > 0, rng.gamma(4.0, 10.0, n), 0.0),
        "churned": (rng.random(n) < np.asarray(CHURN_RATES)[which]).astype(int),
    })


@pytest.fixture(scope="module")
def scorer_and_rows() -> tuple[Scorer, pd.DataFrame]:
    rng = np.random.default_rng(5)
    train, validation, test = (_customers(n, rng) for n in (3000, 1000, 500))
    entries = {f.name: f for f in catalogue(FeatureConfig(), with_sentiment=False)}
    churn = fit_churn(train, validation, [entries["tenure_days"], entries["segment"]], "churned",
                      ChurnParams(threads=1), seed=3)
    clv = fit_clv(train[list(RFM_COLUMNS)], "D")
    scorer = Scorer(churn=churn, clv=clv, churn_version="1", clv_version="1", horizon_months=12,
                    monthly_discount_rate=0.01, thresholds=TierThresholds(medium=0.3, high=0.6), features=entries)
    return scorer, test


def test_every_segment_value_is_a_model_column_as_written(scorer_and_rows: tuple[Scorer, pd.DataFrame]) -> None:
    scorer, _ = scorer_and_rows
    assert sorted(scorer.churn.space.categories["segment"]) == sorted(AWKWARD_SEGMENTS)
    assert {f"segment={value}" for value in AWKWARD_SEGMENTS} <= set(scorer.churn.space.labels)


def test_awkward_segments_score_and_the_reasons_name_them_as_written(
        scorer_and_rows: tuple[Scorer, pd.DataFrame]) -> None:
    scorer, rows = scorer_and_rows
    scores = score(scorer, FeatureBlock.from_frame(rows, scorer))

    assert len(scores) == len(rows)
    assert np.isfinite(scores.churn_probability).all() and np.isfinite(scores.clv).all()
    by_segment = pd.Series(scores.churn_probability).groupby(rows["segment"].to_numpy()).mean()
    assert by_segment["Gold [legacy]"] > by_segment["x" * 500] + 0.5  # the model learned the segments
    for segment in ("Gold [legacy]", "<18"):  # the riskiest segments: their own value is among the reasons
        given = [reasons for reasons, value in zip(scores.reasons, rows["segment"], strict=True) if value == segment]
        assert given and all(f"segment {segment}" in reasons for reasons in given), segment
