"""`CustomerFastPath` answers a reader's plain `GET /v1/customers/{id}` of a customer in the batch without FastAPI's
routing; it must give the route's own bytes, and leave every other request to the route (which then gives the
error, or the same answer). The HTTP tests in test_api.py go through it; these pin down what it takes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI

from retain.contract import CUSTOMER_ID_MAX_LENGTH
from serving.app import create_app
from serving.routes import customers
from tests.serving.conftest import Keys, Store, running_server


@pytest.fixture(scope="module")
def app(store: Store, keys: Keys) -> Iterator[FastAPI]:
    application = create_app(store.settings(**keys.settings_changes()))
    with running_server(application):  # runs the lifespan: batch, models and keys loaded
        yield application


def scope(app: FastAPI, path: str, key: str | None, method: str = "GET", query: bytes = b"",
          root_path: str = "") -> dict[str, Any]:
    headers = [(b"host", b"test")] + ([(b"x-api-key", key.encode())] if key is not None else [])
    return {"type": "http", "method": method, "path": path, "query_string": query, "root_path": root_path,
            "headers": headers, "app": app}


def route_answer(app: FastAPI, customer_id: str) -> bytes:
    """The route's own answer, from a loop of its own (another test may have left one running in this thread)."""
    view = app.state.retain.snapshot.view
    with ThreadPoolExecutor(1) as pool:
        return bytes(pool.submit(asyncio.run, customers.customer(customer_id, view)).result().body)


def test_a_readers_plain_get_is_answered_with_the_routes_bytes(app: FastAPI, store: Store, keys: Keys) -> None:
    for customer_id in (store.scores()["customer_id"].iloc[0], "ACME/42", ".."):
        for key in (keys.reader, keys.admin, keys.env_reader):
            answer = customers.CustomerFastPath.answer(scope(app, f"/v1/customers/{customer_id}", key))
            assert answer == route_answer(app, customer_id)


@pytest.mark.parametrize("case", ["no key", "unknown key", "query string", "POST", "unknown id", "empty id",
                                  "over-long id", "root path", "other route"])
def test_everything_else_goes_on_to_the_route(app: FastAPI, store: Store, keys: Keys, case: str) -> None:
    known = f"/v1/customers/{store.scores()['customer_id'].iloc[0]}"
    request = {
        "no key": scope(app, known, None),
        "unknown key": scope(app, known, "not-a-key"),
        "query string": scope(app, known, keys.reader, query=b"fields=all"),
        "POST": scope(app, known, keys.reader, method="POST"),
        "unknown id": scope(app, "/v1/customers/no-such-customer", keys.reader),
        "empty id": scope(app, "/v1/customers/", keys.reader),
        "over-long id": scope(app, "/v1/customers/" + "x" * (CUSTOMER_ID_MAX_LENGTH + 1), keys.reader),
        "root path": scope(app, known, keys.reader, root_path="/retain"),
        "other route": scope(app, "/v1/at-risk", keys.reader),
    }[case]
    assert customers.CustomerFastPath.answer(request) is None


def test_before_the_batch_is_loaded_the_route_answers(store: Store, keys: Keys) -> None:
    application = create_app(store.settings(**keys.settings_changes()))  # lifespan not run: no state yet
    request = scope(application, f"/v1/customers/{store.scores()['customer_id'].iloc[0]}", keys.reader)
    assert customers.CustomerFastPath.answer(request) is None
