"""Each route's happy path, against the real server over the real store and registry."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pytest

from retain.actions import ACTION_NAMES
from retain.contract import CUSTOMER_ID_MAX_LENGTH
from serving.routes.at_risk import encode_cursor
from serving.schemas import CustomerDetail
from tests.serving.conftest import AS_OF, AWKWARD_IDS, FORMULA_SEGMENT, Keys, Store

SCORE_FIELDS = ["churn_probability", "p_alive", "expected_purchases", "clv", "clv_low", "clv_high", "value_at_risk"]


def reader(keys: Keys) -> dict[str, str]:
    return {"X-API-Key": keys.reader}


def same_number(got: object, expected: object) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return got is None
    return got is not None and math.isclose(float(got), float(expected), rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]


def assert_matches_batch(item: dict, row: pd.Series) -> None:
    assert item["customer_id"] == row["customer_id"]
    assert item["risk_tier"] == row["risk_tier"]
    for name in SCORE_FIELDS:
        assert same_number(item[name], row[name]), (name, item[name], row[name])
    expected = [r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if isinstance(r, str)]
    assert item["reasons"] == expected


def test_health_and_ready_need_no_key(client: httpx.Client, store: Store) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["problems"] == []
    assert body["batch"]["batch_id"] == store.batch_id
    assert body["batch"]["as_of"] == AS_OF.isoformat()
    assert body["batch"]["customers"] == len(store.scores())
    assert body["models"] == {"churn_model_version": "1", "clv_model_version": "1"}
    assert 0 <= body["score_age_seconds"] < 24 * 3600


def test_docs_and_openapi_are_served(client: httpx.Client) -> None:
    assert "swagger" in client.get("/docs").text.lower()
    spec = client.get("/openapi.json").json()
    assert {"/health", "/ready", "/metrics", "/v1/customers/{customer_id}", "/v1/customers/lookup",
            "/v1/at-risk", "/v1/score", "/v1/admin/reload"} <= set(spec["paths"])
    for path, schema in (("/v1/customers/lookup", "LookupRequest"), ("/v1/score", "ScoreBody")):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"} and schema in spec["components"]["schemas"]
    parameter = spec["paths"]["/v1/customers/{customer_id}"]["get"]["parameters"][0]
    assert parameter["name"] == "customer_id" and "URL-encode it" in parameter["description"]
    assert parameter["schema"]["maxLength"] == CUSTOMER_ID_MAX_LENGTH
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": spec["components"]["securitySchemes"]["ApiKey"]["description"]}


def test_customer_answer_is_the_models_serialisation(client: httpx.Client, store: Store, keys: Keys) -> None:
    """The route writes its JSON itself: byte for byte what validating and serialising `CustomerDetail` gives,
    at both ends of the batch, for awkward ids, and for missing CLV figures or reasons where the data has any."""
    scores = store.scores()
    picks = [scores.index[:1], scores.index[-1:], scores.index[scores["customer_id"].isin(AWKWARD_IDS.values())],
             scores.index[scores["clv"].isna()][:1], scores.index[scores["reason_3"].isna()][:1]]
    rows = [scores.loc[i] for pick in picks for i in pick]
    assert len(rows) >= 5
    meta = client.get("/ready").json()["batch"]
    for row in rows:
        path = quote(row["customer_id"], safe="").replace(".", "%2E")  # clients rewrite '.' and '..' segments
        response = client.get(f"/v1/customers/{path}", headers=reader(keys))
        assert response.headers["content-type"] == "application/json"
        expected = CustomerDetail.model_validate({**response.json(), **meta}).model_dump_json().encode()
        assert response.content == expected
        assert_matches_batch(response.json(), row)


def test_customer_is_the_latest_batch_score(client: httpx.Client, store: Store, keys: Keys) -> None:
    scores = store.scores()
    for row in (scores.iloc[0], scores.iloc[len(scores) // 2], scores.iloc[-1]):
        response = client.get(f"/v1/customers/{row['customer_id']}", headers=reader(keys))
        assert response.status_code == 200
        body = response.json()
        assert_matches_batch(body, row)
        assert body["batch_id"] == store.batch_id and body["as_of"] == AS_OF.isoformat()
        assert body["churn_model_version"] == "1" and body["scored_at"]


def test_unknown_customer_is_404_naming_it(client: httpx.Client, keys: Keys) -> None:
    response = client.get("/v1/customers/no-such-customer", headers=reader(keys))
    assert response.status_code == 404
    assert "customer_id 'no-such-customer'" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/customers/ACME%2F42", "/v1/customers/ACME/42"], ids=["encoded", "raw"])
def test_an_id_with_a_slash_is_found(client: httpx.Client, store: Store, keys: Keys, path: str) -> None:
    assert client.build_request("GET", path).url.raw_path == path.encode(), "sent as written"
    response = client.get(path, headers=reader(keys))
    assert response.status_code == 200, response.text
    assert_matches_batch(response.json(), store.scores().set_index("customer_id", drop=False).loc["ACME/42"])


def test_a_dot_segment_id_is_found_percent_encoded(client: httpx.Client, store: Store, keys: Keys) -> None:
    """`..` sent as is means "the parent folder" to every HTTP client (httpx and requests drop it from the path
    before sending), so the README and OpenAPI say to encode it; encoded, it is an id like any other."""
    response = client.get("/v1/customers/%2E%2E", headers=reader(keys))
    assert response.status_code == 200, response.text
    assert_matches_batch(response.json(), store.scores().set_index("customer_id", drop=False).loc[".."])


def test_a_300_character_id_works_on_get_and_lookup(client: httpx.Client, keys: Keys) -> None:
    long_id = AWKWARD_IDS["C0000003"]
    assert len(long_id) == 300
    assert client.get(f"/v1/customers/{long_id}", headers=reader(keys)).json()["customer_id"] == long_id
    body = client.post("/v1/customers/lookup", json={"customer_ids": [long_id]}, headers=reader(keys)).json()
    assert [item["customer_id"] for item in body["found"]] == [long_id]


def test_the_longest_id_the_contract_allows_is_asked_for_not_refused(client: httpx.Client, keys: Keys) -> None:
    longest = "x" * CUSTOMER_ID_MAX_LENGTH
    assert client.get(f"/v1/customers/{longest}", headers=reader(keys)).status_code == 404
    body = client.post("/v1/customers/lookup", json={"customer_ids": [longest]}, headers=reader(keys)).json()
    assert body["unknown_ids"] == [longest]


def test_a_thousand_of_the_longest_ids_fit_one_lookup(client: httpx.Client, keys: Keys) -> None:
    """The contract's bound keeps a full lookup under the body limit even at 4 UTF-8 bytes a character."""
    ids = [f"{i:04d}" + "\U0001F600" * (CUSTOMER_ID_MAX_LENGTH - 4) for i in range(1000)]
    content = json.dumps({"customer_ids": ids}, ensure_ascii=False).encode()
    response = client.post("/v1/customers/lookup", content=content,
                           headers={**reader(keys), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:200]
    assert response.json()["unknown_ids"] == ids


def test_get_of_lookup_asks_for_the_customer_named_lookup(client: httpx.Client, keys: Keys) -> None:
    response = client.get("/v1/customers/lookup", headers=reader(keys))
    assert response.status_code == 404 and "customer_id 'lookup'" in response.json()["detail"]


def test_lookup_lists_found_and_unknown(client: httpx.Client, store: Store, keys: Keys) -> None:
    scores = store.scores().set_index("customer_id", drop=False)
    known = scores.index[[5, 0, 42]].tolist()
    asked = [known[0], "ghost-1", known[1], known[0], known[2], "ghost-2"]
    response = client.post("/v1/customers/lookup", json={"customer_ids": asked}, headers=reader(keys))
    assert response.status_code == 200
    body = response.json()
    assert [item["customer_id"] for item in body["found"]] == known
    assert body["unknown_ids"] == ["ghost-1", "ghost-2"]
    assert body["batch"]["batch_id"] == store.batch_id
    for item in body["found"]:
        assert_matches_batch(item, scores.loc[item["customer_id"]])


def test_lookup_takes_a_thousand_ids(client: httpx.Client, store: Store, keys: Keys) -> None:
    ids = store.scores()["customer_id"].tolist()[:1000]
    body = client.post("/v1/customers/lookup", json={"customer_ids": ids}, headers=reader(keys)).json()
    assert len(body["found"]) == 1000 and body["unknown_ids"] == []


def test_admin_may_read_and_env_keys_work(client: httpx.Client, store: Store, keys: Keys) -> None:
    customer = store.scores()["customer_id"].iloc[0]
    for key in (keys.admin, keys.env_reader):
        assert client.get(f"/v1/customers/{customer}", headers={"X-API-Key": key}).status_code == 200


def _all_pages(client: httpx.Client, keys: Keys, **params: object) -> tuple[list[dict], int]:
    items: list[dict] = []
    cursor, pages = None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/at-risk", params=query, headers=reader(keys))
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= int(params.get("limit", 50))  # type: ignore[call-overload]
        assert response.headers.get("x-next-cursor") == body["next_cursor"]
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert body["items"], "a page before the last is never empty"


def _non_increasing(values: list[float | None]) -> bool:
    present = [v for v in values if v is not None]
    nulls_last = all(v is None for v in values[len(present):])
    return nulls_last and all(a >= b for a, b in zip(present, present[1:], strict=False))


def test_at_risk_pages_cover_the_batch_in_order(client: httpx.Client, store: Store, keys: Keys) -> None:
    scores = store.scores()
    items, pages = _all_pages(client, keys, limit=97)
    ids = [item["customer_id"] for item in items]
    assert len(ids) == len(set(ids)), "no customer appears twice"
    assert ids == scores["customer_id"].tolist(), "every customer, in the batch's order"
    assert pages == math.ceil(len(scores) / 97)
    assert _non_increasing([item["value_at_risk"] for item in items])
    first = client.get("/v1/at-risk", headers=reader(keys)).json()
    assert [item["customer_id"] for item in first["items"]] == ids[:50]


@pytest.mark.parametrize("filters", [
    {"tier": "high"}, {"tier": "low", "limit": 33}, {"segment": "premium [legacy]"}, {"min_clv": "median"},
    {"tier": "medium", "segment": "basic", "min_clv": "median", "limit": 7},
])
def test_at_risk_filters(client: httpx.Client, store: Store, keys: Keys, filters: dict) -> None:
    scores = store.scores()
    params = dict(filters)
    mask = np.ones(len(scores), dtype=bool)
    if "tier" in params:
        mask &= (scores["risk_tier"] == params["tier"]).to_numpy()
    if "segment" in params:
        mask &= (scores["segment"] == params["segment"]).to_numpy()
    if "min_clv" in params:
        params["min_clv"] = float(scores["clv"].median())
        mask &= (scores["clv"] >= params["min_clv"]).fillna(False).to_numpy()
    expected = scores.loc[mask, "customer_id"].tolist()
    assert expected, "the filter should select someone in the generated data"
    items, _ = _all_pages(client, keys, limit=params.pop("limit", 50), **params)
    assert [item["customer_id"] for item in items] == expected
    assert _non_increasing([item["value_at_risk"] for item in items])


def test_at_risk_by_value_saved_pages_in_that_order(client: httpx.Client, store: Store, keys: Keys) -> None:
    scores = store.scores()
    expected = scores.sort_values("value_saved", ascending=False, kind="stable", na_position="last")
    items, _ = _all_pages(client, keys, limit=83, order="value_saved")
    assert [item["customer_id"] for item in items] == expected["customer_id"].tolist()
    assert _non_increasing([item["value_saved"] for item in items])
    high, _ = _all_pages(client, keys, limit=40, order="value_saved", tier="high")
    assert [item["customer_id"] for item in high] == expected.loc[expected["risk_tier"] == "high",
                                                                  "customer_id"].tolist()
    first = client.get("/v1/at-risk", params={"order": "value_saved", "limit": 5}, headers=reader(keys)).json()
    other_order = client.get("/v1/at-risk", params={"cursor": first["next_cursor"]}, headers=reader(keys))
    assert other_order.status_code == 422 and "value_saved" in other_order.text


def test_a_customer_carries_each_applicable_action_best_first(client: httpx.Client, store: Store,
                                                               keys: Keys) -> None:
    scores = store.scores()
    acted = scores[scores["best_action"].notna()]
    assert len(acted) > 0, "the generated data should give some customer an action"
    untouched = scores[scores["best_action"].isna()]
    for _, row in [*acted.head(5).iterrows(), *untouched.head(2).iterrows()]:
        body = client.get(f"/v1/customers/{quote(row['customer_id'], safe='')}", headers=reader(keys)).json()
        expected = sorted(
            ({"action": name, "churn_probability_after": row[f"churn_probability_after_{name}"],
              "value_saved": row[f"value_saved_{name}"]} for name in ACTION_NAMES
             if not np.isnan(row[f"churn_probability_after_{name}"])),
            key=lambda estimate: -estimate["value_saved"])
        assert body["actions"] == expected
        assert body["best_action"] == (row["best_action"] if isinstance(row["best_action"], str) else None)
        assert same_number(body["value_saved"], row["value_saved"])
        assert all(estimate["value_saved"] >= 0 for estimate in body["actions"])
        if body["best_action"]:
            assert body["actions"][0]["action"] == body["best_action"]


def test_at_risk_unknown_segment_is_an_empty_last_page(client: httpx.Client, keys: Keys) -> None:
    body = client.get("/v1/at-risk", params={"segment": "no-such-segment"}, headers=reader(keys)).json()
    assert body["items"] == [] and body["next_cursor"] is None


@pytest.mark.parametrize("how", ["format", "accept"])
def test_at_risk_csv_is_the_same_page(client: httpx.Client, keys: Keys, how: str) -> None:
    params = {"limit": 20, "tier": "high"}
    page = client.get("/v1/at-risk", params=params, headers=reader(keys))
    cursor = page.json()["next_cursor"]
    second_json = client.get("/v1/at-risk", params={**params, "cursor": cursor}, headers=reader(keys))
    extra = {"format": "csv"} if how == "format" else {}
    headers = {**reader(keys), **({"Accept": "text/csv"} if how == "accept" else {})}
    second_csv = client.get("/v1/at-risk", params={**params, **extra, "cursor": cursor}, headers=headers)
    assert second_csv.status_code == 200
    assert second_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in second_csv.headers["content-disposition"]
    assert second_csv.headers.get("x-next-cursor") == second_json.json()["next_cursor"]
    rows = list(csv.DictReader(io.StringIO(second_csv.text)))
    items = second_json.json()["items"]
    assert len(rows) == len(items) == 20
    for row, item in zip(rows, items, strict=True):
        assert row["customer_id"] == item["customer_id"] and row["risk_tier"] == item["risk_tier"]
        for name in SCORE_FIELDS:
            assert same_number(float(row[name]) if row[name] else None, item[name])
        assert [row[f"reason_{i}"] for i in (1, 2, 3) if row[f"reason_{i}"]] == item["reasons"]


def test_at_risk_csv_quotes_text_a_spreadsheet_would_run(client: httpx.Client, store: Store, keys: Keys) -> None:
    """A segment or id that reads as a formula is text in the CSV, the same value in JSON, numbers unchanged."""
    params = {"segment": FORMULA_SEGMENT, "limit": 10}
    items = client.get("/v1/at-risk", params=params, headers=reader(keys)).json()["items"]
    assert len(items) == 2 and {item["segment"] for item in items} == {FORMULA_SEGMENT}
    response = client.get("/v1/at-risk", params={**params, "format": "csv"}, headers=reader(keys))
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [row["segment"] for row in rows] == ["'" + FORMULA_SEGMENT] * 2
    assert [row["customer_id"] for row in rows] == [item["customer_id"] for item in items]
    for row, item in zip(rows, items, strict=True):
        for name in SCORE_FIELDS:
            assert same_number(float(row[name]) if row[name] else None, item[name])
    at = store.scores()["customer_id"].tolist().index("-42")  # the page of one that starts at customer -42
    query = {"limit": 1, "format": "csv", **({"cursor": encode_cursor(store.batch_id, at)} if at else {})}
    page = client.get("/v1/at-risk", params=query, headers=reader(keys)).text
    assert next(csv.DictReader(io.StringIO(page, newline="")))["customer_id"] == "'-42"


def test_metrics(client: httpx.Client, store: Store, keys: Keys) -> None:
    customer = store.scores()["customer_id"].iloc[3]
    client.get(f"/v1/customers/{customer}", headers=reader(keys))
    response = client.get("/metrics")  # public by default: no key
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'retain_http_requests_total\{method="GET",route="/v1/customers/\{customer_id\}",'
                     r'status="200"\} [1-9]', text)
    assert 'retain_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/v1/customers/' in text
    assert 'retain_model_version_info{model="retain-churn",version="1"} 1.0' in text
    assert f'batch_id="{store.batch_id}"' in text
    age = float(re.search(r"^retain_score_age_seconds (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert 0 <= age < 24 * 3600
    assert customer not in text, "metrics are labelled by route template, never by customer"


def test_one_log_line_per_request_without_keys(client: httpx.Client, store: Store, keys: Keys,
                                              caplog: pytest.LogCaptureFixture) -> None:
    customer = store.scores()["customer_id"].iloc[7]
    with caplog.at_level("INFO", logger="retain.api"):
        client.get(f"/v1/customers/{customer}", headers=reader(keys))
        client.post("/v1/customers/lookup", json={"customer_ids": ["secret-ish"]}, headers=reader(keys))
        client.get("/v1/at-risk", headers={"X-API-Key": "a-wrong-key"})
    lines = [r.getMessage() for r in caplog.records if r.name == "retain.api"]
    assert len(lines) == 3
    assert re.fullmatch(r"GET /v1/customers/\{customer_id\} 200 \d+\.\dms", lines[0])
    assert re.fullmatch(r"POST /v1/customers/lookup 200 \d+\.\dms", lines[1])
    assert re.fullmatch(r"GET /v1/at-risk 401 \d+\.\dms", lines[2])
    text = "\n".join(lines)
    assert keys.reader not in text and "a-wrong-key" not in text and "secret-ish" not in text


def test_clv_comes_with_its_80_percent_interval(client: httpx.Client, store: Store, keys: Keys) -> None:
    """The batch and the API carry clv_low <= clv_high beside clv, described in OpenAPI as an 80% interval."""
    scores = store.scores()
    known = scores[scores["clv"].notna()]
    assert len(known) and (known["clv_low"] <= known["clv_high"]).all() and (known["clv_low"] >= 0).all()
    assert scores.loc[scores["clv"].isna(), ["clv_low", "clv_high"]].isna().all().all()
    row = known.iloc[0]
    body = client.get(f"/v1/customers/{quote(row['customer_id'], safe='')}", headers=reader(keys)).json()
    assert same_number(body["clv_low"], row["clv_low"]) and same_number(body["clv_high"], row["clv_high"])
    fields = client.get("/openapi.json").json()["components"]["schemas"]["CustomerScore"]["properties"]
    assert "80% interval" in fields["clv_low"]["description"] and "80% interval" in fields["clv_high"]["description"]
