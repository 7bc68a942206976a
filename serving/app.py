"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan loads the score batch, the
champion models and the API keys once. Tests build apps on their own store; `retain serve` runs one.

Every request passes `RequestGuard`: bodies over `api_max_body_bytes` get 413, one log line per request
(method, route template, status, latency; never bodies, keys or query strings), Prometheus counts, and any
unexpected error becomes a generic 500 (logged with its traceback), never a leak of internals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.build import FeatureConfig, catalogue
from retain.settings import Settings
from serving import console
from serving.metrics import Metrics
from serving.routes import admin, at_risk, customers, health, outreach, score
from serving.score_input import ScoreInput
from serving.state import AppState, freeze_heap, load_snapshot

log = logging.getLogger("retain.api")
JSON = [(b"content-type", b"application/json")]


class RequestGuard:
    """Pure ASGI middleware: body limit, request log line, metrics, and the last-resort 500."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False, "done": False}

        def finish() -> None:  # once per request, before the client has the whole answer
            if not status["done"]:
                status["done"] = True
                seconds = time.perf_counter() - started
                route = _route(scope)
                self.metrics.observe(scope["method"], route, int(status["code"]), seconds)
                log.info("%s %s %s %.1fms", scope["method"], route, status["code"], seconds * 1000)

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()
            await send(message)

        try:
            body = await self._read_body(scope, receive)
            if body is None:
                await _answer(observed_send, 413, f"request body: over the limit of {self.max_body_bytes:,} "
                                                  "bytes; send at most 1,000 rows or ids per call")
            else:
                await self.app(scope, _replay(body, receive), observed_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], _route(scope))
            if not status["sent"]:
                await _answer(observed_send, 500, "internal error: the request could not be completed")
        finally:
            finish()

    async def _read_body(self, scope: Scope, receive: Receive) -> list[Message] | None:
        """The request's body messages, or None when it is (or declares to be) over the limit."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return None
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _route(scope: Scope) -> str:
    """The matched route's template as OpenAPI shows it (`/v1/customers/{customer_id}`, without `:path`)."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or "<unmatched>"


async def _answer(send: Send, status: int, detail: str) -> None:
    body = JSONResponse({"detail": detail}).body
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _message(error: dict[str, Any]) -> str:
    """The error's message prefixed with its field: `rows.3.recency: ...`, `cursor: ...`, `body: ...`."""
    loc = [str(part) for part in error.get("loc", ())]
    if len(loc) > 1 and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    return f"{'.'.join(loc) or 'request'}: {error.get('msg', 'invalid value')}"


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 shape (loc, msg, type) with the field named in each message, and without echoing the
    input back (it may be large or personal)."""
    assert isinstance(error, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "type": e.get("type", "value_error"), "msg": _message(e)}
              for e in error.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the score store and model registry named by `settings`."""
    settings = settings or Settings()
    features = catalogue(FeatureConfig.from_settings(settings))
    by_name = {f.name: f for f in features}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        snapshot = await run_in_threadpool(load_snapshot, settings, by_name)
        app.state.retain = AppState(settings, by_name, snapshot)
        console.warm(app.state.console, snapshot.view)
        freeze_heap()
        if not len(snapshot.keys):
            log.warning("no API keys configured: every /v1 route answers 401 (see `retain api-key`)")
        for problem in snapshot.problems:
            log.warning("not ready: %s", problem)
        yield

    app = FastAPI(title="retain", version="1", lifespan=lifespan,
                  description="Churn and CLV scores for CRM enrichment and retention work lists. "
                              "Send an API key as `X-API-Key` for /v1 routes.")
    app.state.metrics = metrics = Metrics(lambda: getattr(getattr(app.state, "retain", None), "snapshot", None))
    app.add_middleware(customers.CustomerFastPath)  # added first: inside RequestGuard
    app.add_middleware(RequestGuard, max_body_bytes=settings.api_max_body_bytes,  # type: ignore[arg-type]
                       metrics=metrics)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(health.build_router(settings.api_metrics_public))
    app.include_router(customers.router)
    app.include_router(at_risk.router)
    score_input = ScoreInput(features)
    app.include_router(score.build_router(score_input))
    app.include_router(admin.router)
    app.include_router(outreach.router)
    console.mount(app, settings)  # the web console under /app, over the same snapshot and keys
    _document_schemas(app, {**score_input.openapi_components(), **customers.BODY_SCHEMAS})
    return app


def _document_schemas(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Add the schemas of bodies that routes validate themselves to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate().setdefault("components", {}).setdefault("schemas", {}).update(schemas)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def from_environment() -> FastAPI:
    """For `uvicorn --factory serving.app:from_environment` (settings from RETAIN_* variables)."""
    return create_app(Settings())
