"""POST /v1/score: the same answers as the batch for the same feature rows, and sensible ones for sparse rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import AS_OF, Keys, Store
from tests.serving.test_api import SCORE_FIELDS, same_number


@pytest.fixture(scope="module")
def feature_rows(store: Store, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The feature rows the batch was scored from (computed on a copy: the sentiment cache may be written)."""
    import shutil

    from features import io as feature_io
    from features.build import FeatureConfig
    from features.snapshot import prepare_sources
    from retain.ingest import load

    data_dir = Path(shutil.copytree(store.data_dir, tmp_path_factory.mktemp("score") / "data"))
    sources = prepare_sources(feature_io.connect(), load(data_dir), data_dir)
    frame = sources.features_at(AS_OF, FeatureConfig()).to_pandas()
    frame["as_of"] = AS_OF.isoformat()
    return json.loads(frame.to_json(orient="records"))  # NaN -> null, as a CRM would send


def test_score_agrees_with_the_batch(client: httpx.Client, store: Store, keys: Keys,
                                     feature_rows: list[dict]) -> None:
    scores = store.scores().set_index("customer_id", drop=False)
    rows = feature_rows[:300]
    response = client.post("/v1/score", json={"rows": rows}, headers={"X-API-Key": keys.reader})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["churn_model_version"] == "1" and body["clv_model_version"] == "1"
    assert [r["customer_id"] for r in body["results"]] == [r["customer_id"] for r in rows]
    for result in body["results"]:
        batch = scores.loc[result["customer_id"]]
        assert result["risk_tier"] == batch["risk_tier"]
        for name in SCORE_FIELDS:
            expected = batch[name]
            if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert result[name] is None
            else:
                assert math.isclose(result[name], expected, rel_tol=1e-6, abs_tol=1e-9), name
        assert result["reasons"] == [r for r in batch[["reason_1", "reason_2", "reason_3"]] if isinstance(r, str)]


def test_missing_values_are_allowed(client: httpx.Client, keys: Keys, feature_rows: list[dict]) -> None:
    bare = {"customer_id": "new-1"}
    no_rfm = {k: v for k, v in feature_rows[0].items()
              if k not in ("frequency", "recency", "T", "monetary_value")} | {"customer_id": "new-2"}
    response = client.post("/v1/score", json={"rows": [bare, no_rfm]}, headers={"X-API-Key": keys.reader})
    assert response.status_code == 200, response.text
    for result in response.json()["results"]:
        assert 0 <= result["churn_probability"] <= 1
        assert result["risk_tier"] in ("low", "medium", "high")
        assert result["clv"] is None and result["p_alive"] is None and result["value_at_risk"] is None
        assert len(result["reasons"]) <= 3


def test_worse_sentiment_never_lowers_the_score(client: httpx.Client, keys: Keys,
                                                feature_rows: list[dict]) -> None:
    row = dict(feature_rows[10])
    rows = [row | {"customer_id": f"s{i}", "sentiment_last": value} for i, value in enumerate((0.8, 0.0, -0.8))]
    results = client.post("/v1/score", json={"rows": rows}, headers={"X-API-Key": keys.reader}).json()["results"]
    probabilities = [r["churn_probability"] for r in results]
    assert probabilities == sorted(probabilities)
    assert all(same_number(a["clv"], b["clv"]) for a, b in zip(results, results[1:], strict=False))


def test_score_takes_a_thousand_rows(client: httpx.Client, keys: Keys, feature_rows: list[dict]) -> None:
    rows = (feature_rows * 2)[:1000]
    response = client.post("/v1/score", json={"rows": rows}, headers={"X-API-Key": keys.reader})
    assert response.status_code == 200 and len(response.json()["results"]) == 1000
