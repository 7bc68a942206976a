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
        assert result["risk_tier"] in ("lapsed", "low", "medium", "high")
        assert result["clv"] is None and result["p_alive"] is None and result["value_at_risk"] is None
        assert len(result["reasons"]) <= 3


def test_worse_sentiment_never_lowers_the_score(client: httpx.Client, keys: Keys,
                                                feature_rows: list[dict]) -> None:
    row = dict(feature_rows[10])
    rows = [row | {"customer_id": f"s{i}", "sentiment_last": value} for i, value in enumerate((0.8, 0.0, -0.8))]
    results = client.post("/v1/score", json={"rows": rows}, headers={"X-API-Key": keys.reader}).json()["results"]
    probabilities = [r["churn_probability"] for r in results]
    assert probabilities == sorted(probabilities)
    # P(alive) is the purchase model's alone; CLV may move with sentiment where the hybrid CLV reads it
    assert all(same_number(a["p_alive"], b["p_alive"]) for a, b in zip(results, results[1:], strict=False))


def test_score_takes_a_thousand_rows(client: httpx.Client, keys: Keys, feature_rows: list[dict]) -> None:
    rows = (feature_rows * 2)[:1000]
    response = client.post("/v1/score", json={"rows": rows}, headers={"X-API-Key": keys.reader})
    assert response.status_code == 200 and len(response.json()["results"]) == 1000


def _table(rows: list[dict], columns: list[str] | None = None) -> dict:
    columns = columns or list(rows[0])
    return {"columns": columns, "data": [[row.get(c) for c in columns] for row in rows]}


def test_columns_with_data_answer_as_rows_do(client: httpx.Client, keys: Keys, feature_rows: list[dict]) -> None:
    rows = feature_rows[:200]
    headers = {"X-API-Key": keys.reader}
    by_rows = client.post("/v1/score", json={"rows": rows}, headers=headers)
    by_table = client.post("/v1/score", json=_table(rows), headers=headers)
    assert by_rows.status_code == by_table.status_code == 200, by_table.text
    assert by_table.json() == by_rows.json()


def test_a_column_left_out_reads_as_its_default(client: httpx.Client, keys: Keys, feature_rows: list[dict]) -> None:
    """Left out of the columns or left out of a row object: the same default (0 for counts, else missing)."""
    kept = ["customer_id", "frequency", "recency", "T", "monetary_value", "contacts_30d", "sentiment_last"]
    rows = [{c: row[c] for c in kept} for row in feature_rows[:50]]
    headers = {"X-API-Key": keys.reader}
    shuffled = [kept[i] for i in (3, 0, 6, 1, 5, 2, 4)]  # any column order
    by_table = client.post("/v1/score", json=_table(rows, shuffled), headers=headers)
    by_rows = client.post("/v1/score", json={"rows": rows}, headers=headers)
    assert by_table.status_code == 200, by_table.text
    assert by_table.json() == by_rows.json()


def _message(response: httpx.Response) -> str:
    return " | ".join(d["msg"] for d in response.json()["detail"])


@pytest.mark.parametrize(("body", "message"), [
    ({"columns": ["customer_id", "contact_30d"], "data": [["c1", 1]]}, "columns.1: unknown column 'contact_30d'"),
    ({"columns": ["customer_id", "T", "T"], "data": [["c1", 1, 1]]}, "columns.2: column 'T' given twice"),
    ({"columns": ["frequency"], "data": [[1]]}, "columns: customer_id is required"),
    ({"columns": ["customer_id", "frequency"], "data": [["c1", "often"]]}, "data.0.frequency:"),
    ({"columns": ["customer_id", "frequency"], "data": [["c1", 1], ["c2", -1]]}, "data.1.frequency:"),
    ({"columns": ["customer_id", "frequency"], "data": [["c1"]]}, "data.0.frequency: Field required"),
    ({"columns": ["customer_id"], "data": [["c1", 2]]}, "data.0: Tuple should have at most 1 item"),
    ({"columns": ["customer_id", "nps_last_class"], "data": [["c1", "fan"]]}, "data.0.nps_last_class:"),
    ({"columns": ["customer_id", "recency", "T"], "data": [["c1", 50, 40]]}, "data.0: Value error, recency (50)"),
    ({"columns": ["customer_id"], "data": [["c1"]] * 1001}, "data: List should have at most 1000"),
    ({"columns": ["customer_id"], "data": []}, "data: List should have at least 1"),
    ({"columns": ["customer_id"]}, "body: Value error, send rows, or columns with data"),
    ({"rows": [{"customer_id": "c1"}], "columns": ["customer_id"], "data": [["c1"]]}, "not both"),
    ({}, "body: Value error, send rows, or columns with data"),
])
def test_bad_tables_are_422_naming_row_and_column(client: httpx.Client, keys: Keys, body: dict,
                                                  message: str) -> None:
    response = client.post("/v1/score", json=body, headers={"X-API-Key": keys.reader})
    assert response.status_code == 422, response.text
    assert message in _message(response)


def test_a_body_that_is_not_json_is_named(client: httpx.Client, keys: Keys) -> None:
    response = client.post("/v1/score", content=b"rows=1", headers={"X-API-Key": keys.reader,
                                                                    "Content-Type": "text/plain"})
    assert response.status_code == 422 and _message(response) == "body: send JSON, with Content-Type: application/json"
    empty = client.post("/v1/score", content=b"", headers={"X-API-Key": keys.reader})
    assert empty.status_code == 422 and _message(empty) == "body: Field required"


def test_two_threads_give_what_one_gives(store: Store, feature_rows: list[dict],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """From `TWO_THREADS_FROM` rows, probability and CLV run beside the contributions on a second thread; the
    scores must not depend on it, and the probability stays exactly the model's `predict_proba`."""
    import numpy as np
    import pandas as pd

    from features.build import FeatureConfig, catalogue
    from models import scoring
    from models.registry import champion_scorer

    scorer = champion_scorer(store.settings(), {f.name: f for f in catalogue(FeatureConfig())})
    frame = pd.DataFrame(feature_rows)
    assert len(frame) >= scoring.TWO_THREADS_FROM
    block = scoring.FeatureBlock.from_frame(frame, scorer)
    two = scoring.score(scorer, block)
    monkeypatch.setattr(scoring, "TWO_THREADS_FROM", len(frame) + 1)
    one = scoring.score(scorer, block)
    pd.testing.assert_frame_equal(two.frame(), one.frame())
    np.testing.assert_array_equal(two.churn_probability, scorer.churn.predict_proba(frame))
