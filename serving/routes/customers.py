"""CRM enrichment: one customer's latest score, or up to 1,000 in one call."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Path, Response

from retain.contract import CUSTOMERS
from serving.deps import JsonBody, ReaderViewDep
from serving.request_body import openapi_body, openapi_components, parse_body
from serving.schemas import CustomerDetail, CustomerId, LookupRequest, LookupResponse, error_responses

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
    values = {**view.record(position), **view.meta}
    return Response(orjson.dumps({name: values[name] for name in DETAIL_FIELDS}), media_type="application/json")
