"""CRM enrichment: one customer's latest score, or up to 1,000 in one call."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Path, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from retain.contract import CUSTOMER_ID_MAX_LENGTH, CUSTOMER_ID_MIN_LENGTH, CUSTOMERS
from serving.auth import HEADER
from serving.deps import JsonBody, ReaderViewDep, authorize
from serving.request_body import openapi_body, openapi_components, parse_body
from serving.schemas import CustomerDetail, CustomerId, LookupRequest, LookupResponse, error_responses
from serving.state import AppState, ScoreView

# /lookup is declared first: it must win over /{customer_id:path} (OPTIONS and 405 answers then name POST); a GET
# of /v1/customers/lookup asks for the customer whose id is "lookup"
router = APIRouter(prefix="/v1/customers", tags=["customers"])  # ReaderViewDep checks the query
BODY_SCHEMAS = openapi_components(LookupRequest)  # the app adds them to the OpenAPI components
DETAIL_FIELDS = tuple(CustomerDetail.model_fields)  # the answer's keys, in the order pydantic writes them


@router.post("/lookup", response_model=LookupResponse, summary="Scores of up to 1,000 customers",
             responses=error_responses(401, 403, 413, 422, 503), openapi_extra=openapi_body("LookupRequest"))
async def lookup(view: ReaderViewDep, raw: JsonBody) -> LookupResponse:
    body = parse_body(LookupRequest, raw)
    wanted = list(dict.fromkeys(body.customer_ids))  # request order, each id once
    positions = [view.position.get(customer_id) for customer_id in wanted]
    return LookupResponse.model_validate({
        "batch": view.meta,
        "found": view.records([p for p in positions if p is not None]),
        "unknown_ids": [customer_id for customer_id, p in zip(wanted, positions, strict=True) if p is None],
    })


PATH_ID = (f"The customer's id as in the data ({CUSTOMERS.column('customer_id').length_rule}). URL-encode it "
           "(`ACME/42` as `ACME%2F42`); a `/` also works unencoded, but `%`, `?`, `#` and a path segment of `.` "
           "or `..` must be encoded (`%2E`), or HTTP clients change the path before sending it.")


# `:path` so that an id with a `/` matches (uvicorn decodes %2F before routing); OpenAPI shows {customer_id}
@router.get("/{customer_id:path}", response_model=CustomerDetail, summary="A customer's latest score",
            responses=error_responses(401, 403, 404, 503))
async def customer(customer_id: Annotated[CustomerId, Path(description=PATH_ID)],
                   view: ReaderViewDep) -> Response:
    """Written with orjson straight from the batch's values, in `CustomerDetail`'s field order: the same bytes
    as FastAPI's validation and serialisation through the model (tests compare them), at a fraction of the
    cost, which the busiest route of the API feels."""
    position = view.position.get(customer_id)
    if position is None:
        raise HTTPException(404, f"customer_id {customer_id!r}: no score in batch {view.info.batch_id} "
                                 f"(as of {view.info.as_of}); the customer may be newer than the batch")
    return Response(detail_body(view, position), media_type="application/json")


def detail_body(view: ScoreView, position: int) -> bytes:
    values = {**view.record(position), **view.meta}
    return orjson.dumps({name: values[name] for name in DETAIL_FIELDS})


class CustomerFastPath:
    """Pure ASGI middleware answering a plain `GET /v1/customers/{id}` of a reader for a customer in the batch
    with the route's own answer (`detail_body`), without FastAPI's routing and dependency solving, which were
    more than half of what the busiest route cost in the app. Anything else (a query string, no or a wrong key,
    an unknown or invalid id, no batch) goes on to the route, which gives the same answer or the error. Sits
    inside `RequestGuard`, so the body limit, log line and metrics hold; the metrics name the route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.answer(scope) if scope["type"] == "http" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = CUSTOMER_ROUTE  # names the request in the log line and metrics, as routing would
        await Response(body, media_type="application/json")(scope, receive, send)

    @staticmethod
    def answer(scope: Scope) -> bytes | None:
        """The answer's body, or None where the route must answer."""
        path: str = scope["path"]
        if scope["method"] != "GET" or scope["query_string"] or scope.get("root_path") or not path.startswith(PREFIX):
            return None
        customer_id = path[len(PREFIX):]
        state: AppState | None = getattr(scope["app"].state, "retain", None)  # None until the lifespan ran
        if state is None or not CUSTOMER_ID_MIN_LENGTH <= len(customer_id) <= CUSTOMER_ID_MAX_LENGTH:
            return None
        snapshot = state.snapshot  # once: keys and batch from the same one
        position = snapshot.view.position.get(customer_id) if snapshot.view is not None else None
        if snapshot.view is None or position is None:
            return None
        key = next((value.decode("latin-1") for name, value in scope["headers"] if name == KEY_HEADER), None)
        try:
            authorize(snapshot, key, "reader")
        except HTTPException:
            return None
        return detail_body(snapshot.view, position)


PREFIX = router.prefix + "/"
CUSTOMER_ROUTE: BaseRoute = next(r for r in router.routes if getattr(r, "endpoint", None) is customer)
KEY_HEADER = HEADER.lower().encode()
