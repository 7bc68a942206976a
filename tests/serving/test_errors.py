"""Auth (401/403), bounded bodies (413), and bad input: always a 4xx whose message names the field."""

from __future__ import annotations

import httpx
import pytest

from retain.contract import CUSTOMER_ID_MAX_LENGTH
from serving.routes.at_risk import encode_cursor
from tests.serving.conftest import Keys, Store, running_server

PROTECTED = [("GET", "/v1/customers/C0000001", None), ("POST", "/v1/customers/lookup", {"customer_ids": ["x"]}),
             ("GET", "/v1/at-risk", None), ("POST", "/v1/score", {"rows": [{"customer_id": "x"}]}),
             ("POST", "/v1/admin/reload", None)]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize("key", [None, "", "not-a-key"])
def test_no_or_unknown_key_is_401(client: httpx.Client, method: str, path: str, body: object,
                                  key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("X-API-Key header:")


@pytest.mark.parametrize("key", ["reader", "env_reader"])
def test_reader_cannot_reload(client: httpx.Client, keys: Keys, key: str) -> None:
    response = client.post("/v1/admin/reload", headers={"X-API-Key": getattr(keys, key)})
    assert response.status_code == 403
    assert "needs role admin" in response.json()["detail"]


def test_open_routes_need_no_key(client: httpx.Client) -> None:
    for path in ("/health", "/ready", "/docs", "/openapi.json", "/metrics"):
        assert client.get(path).status_code == 200, path


def _fields(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " | ".join(d["msg"] for d in detail)


def _row(**values: object) -> dict:
    return {"customer_id": "c1", **values}


MAX_ID = CUSTOMER_ID_MAX_LENGTH
TOO_LONG = "x" * (MAX_ID + 1)
BAD = [
    ("POST", "/v1/customers/lookup", {"customer_ids": ["a"] * 1001}, "customer_ids: List should have at most 1000"),
    ("POST", "/v1/customers/lookup", {"customer_ids": []}, "customer_ids:"),
    ("POST", "/v1/customers/lookup", {"ids": ["a"]}, "customer_ids: Field required"),
    ("POST", "/v1/customers/lookup", {"customer_ids": "C0000001"}, "customer_ids:"),
    ("POST", "/v1/customers/lookup", {"customer_ids": [""]}, "customer_ids.0:"),
    ("POST", "/v1/customers/lookup", [1, 2], "body:"),
    ("POST", "/v1/score", {"rows": [_row()] * 1001}, "rows: List should have at most 1000"),
    ("POST", "/v1/score", {"rows": [{"frequency": 1}]}, "rows.0.customer_id: Field required"),
    ("POST", "/v1/score", {"rows": [_row(contact_30d=1)]}, "rows.0.contact_30d: Extra inputs"),
    ("POST", "/v1/score", {"rows": [_row(reopen_rate_30d=1.5)]}, "rows.0.reopen_rate_30d:"),
    ("POST", "/v1/score", {"rows": [_row(purchases_30d=-1)]}, "rows.0.purchases_30d:"),
    ("POST", "/v1/score", {"rows": [_row(frequency="often")]}, "rows.0.frequency:"),
    ("POST", "/v1/score", {"rows": [_row(ces_last=9)]}, "rows.0.ces_last:"),
    ("POST", "/v1/score", {"rows": [_row(nps_last_class="fan")]}, "rows.0.nps_last_class:"),
    ("POST", "/v1/score", {"rows": [_row(spend_30d=1e300)]}, "rows.0.spend_30d:"),
    ("POST", "/v1/score", {"rows": [_row(frequency=3, recency=50, T=40)]}, "recency (50) must not exceed T (40)"),
    ("POST", "/v1/score", {"rows": [_row(frequency=9, recency=5, T=40)]}, "frequency (9) must not exceed recency"),
    ("GET", "/v1/at-risk?limit=0", None, "limit:"),
    ("GET", "/v1/at-risk?limit=1001", None, "limit:"),
    ("GET", "/v1/at-risk?limit=many", None, "limit:"),
    ("GET", "/v1/at-risk?tier=extreme", None, "tier:"),
    ("GET", "/v1/at-risk?min_clv=nan", None, "min_clv:"),
    ("GET", "/v1/at-risk?format=xml", None, "format:"),
    ("GET", "/v1/at-risk?cursor=abc", None, "cursor: not a cursor this API issued"),
    ("GET", "/v1/at-risk?cursor=not%20base64!", None, "cursor:"),
    ("GET", f"/v1/customers/{TOO_LONG}", None, f"customer_id: String should have at most {MAX_ID} characters"),
    ("GET", "/v1/customers/", None, "customer_id: String should have at least 1 character"),
    ("POST", "/v1/customers/lookup", {"customer_ids": ["a", TOO_LONG]}, "customer_ids.1: String should have at most"),
    ("POST", "/v1/score", {"rows": [_row(customer_id=TOO_LONG)]}, "rows.0.customer_id: String should have at most"),
    ("POST", "/v1/score", {"columns": ["customer_id"], "data": [[TOO_LONG]]},
     "data.0.customer_id: String should have at most"),
]


@pytest.mark.parametrize(("method", "path", "body", "message"), BAD)
def test_bad_input_is_4xx_naming_the_field(client: httpx.Client, keys: Keys, method: str, path: str,
                                           body: object, message: str) -> None:
    response = client.request(method, path, json=body, headers={"X-API-Key": keys.reader})
    assert response.status_code == 422, response.text
    assert message in _fields(response)
    detail = response.json()["detail"]
    assert all("input" not in error for error in detail), "inputs are not echoed back"


def test_invalid_json_is_422_naming_the_body(client: httpx.Client, keys: Keys) -> None:
    response = client.post("/v1/customers/lookup", content=b'{"customer_ids": [', headers={
        "X-API-Key": keys.reader, "Content-Type": "application/json"})
    assert response.status_code == 422 and _fields(response).startswith("body: not valid JSON")


def test_cursor_of_another_batch_is_409(client: httpx.Client, keys: Keys) -> None:
    response = client.get("/v1/at-risk", params={"cursor": encode_cursor("an-old-batch", 50)},
                          headers={"X-API-Key": keys.reader})
    assert response.status_code == 409 and response.json()["detail"].startswith("cursor:")


def test_cursor_outside_the_batch_is_422(client: httpx.Client, store: Store, keys: Keys) -> None:
    response = client.get("/v1/at-risk", params={"cursor": encode_cursor(store.batch_id, 10**6)},
                          headers={"X-API-Key": keys.reader})
    assert response.status_code == 422 and "cursor:" in _fields(response)


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_413(client: httpx.Client, keys: Keys, chunked: bool) -> None:
    payload = b'{"customer_ids": ["' + b"x" * (9 * 1024 * 1024) + b'"]}'
    content = iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)]) if chunked else payload
    response = client.post("/v1/customers/lookup", content=content,
                           headers={"X-API-Key": keys.reader, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body: over the limit of 8,388,608 bytes")


def test_unexpected_errors_are_a_generic_500(store: Store, keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    from serving.app import create_app

    app = create_app(store.settings(**keys.settings_changes()))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    with running_server(app) as url, caplog.at_level("INFO", logger="retain.api"):
        response = httpx.get(f"{url}/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: the request could not be completed"}
    assert any("unhandled error in GET /boom" in r.getMessage() for r in caplog.records)
    assert any("GET /boom 500" in r.getMessage() for r in caplog.records)


BODY_ROUTES = ["/v1/customers/lookup", "/v1/score"]
DEEP = b"[" * 100_000
LONG_NUMBER = b"1" * 5000
UNREADABLE = [
    (DEEP, "body: JSON nested too deeply (recursion limit exceeded"),
    (b'{"customer_ids": [' + LONG_NUMBER + b"]}", "body: JSON holds a number too large to read (number out of range"),
    (b'{"rows": [{"customer_id": "c1", "frequency": ' + LONG_NUMBER + b"}]}", "body: JSON holds a number too large"),
    (b"\xff\x1a\xfeD", "body: not UTF-8 encoded JSON"),
]


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(("content", "message"), UNREADABLE, ids=["deep", "number", "number-in-row", "not-utf8"])
def test_unreadable_json_body_is_422_saying_why(client: httpx.Client, keys: Keys, path: str, content: bytes,
                                                message: str) -> None:
    response = client.post(path, content=content, headers={
        "X-API-Key": keys.reader, "Content-Type": "application/json"})
    assert response.status_code == 422 and _fields(response).startswith(message), response.text


def test_every_operation_with_a_body_says_why_it_cannot_be_read(client: httpx.Client, keys: Keys) -> None:
    """Every documented request body, now and later, is read by serving.request_body (FastAPI's own body
    parameters would answer these with a bare 400); BODY_ROUTES, tested above in detail, are all of them."""
    spec = client.get("/openapi.json").json()
    with_body = [(method, path) for path, operations in spec["paths"].items()
                 for method, operation in operations.items() if "requestBody" in operation]
    assert sorted(path for _, path in with_body) == sorted(BODY_ROUTES)
    for method, path in with_body:
        response = client.request(method, path, content=DEEP, headers={
            "X-API-Key": keys.admin, "Content-Type": "application/json"})
        assert response.status_code == 422 and _fields(response).startswith("body: JSON nested too deeply"), path


def test_options_on_lookup_names_post(client: httpx.Client) -> None:
    response = client.options("/v1/customers/lookup")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.mark.parametrize(("path", "message"), [
    ("/v1/at-risk?teir=high", "unknown query parameter 'teir'"), ("/v1/customers/C0000001?x=1", "parameter 'x'"),
    ("/v1/at-risk?=", "unknown query parameter ''"), ("/v1/at-risk?tier=high&tier=low", "'tier' given more than once"),
])
def test_unknown_or_repeated_query_parameters_are_named(client: httpx.Client, keys: Keys, path: str,
                                                        message: str) -> None:
    response = client.get(path, headers={"X-API-Key": keys.reader})
    assert response.status_code == 422
    assert message in _fields(response)
