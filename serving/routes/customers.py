"""CRM enrichment: one customer's latest score, or up to 1,000 in one call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from serving.deps import KnownQueryOnly, ReaderDep, ViewDep
from serving.schemas import MAX_ID_LENGTH, CustomerDetail, LookupRequest, LookupResponse, error_responses

# /lookup is declared first: it must win over /{customer_id} (OPTIONS and 405 answers then name POST)
router = APIRouter(prefix="/v1/customers", tags=["customers"], dependencies=[KnownQueryOnly])


@router.post("/lookup", response_model=LookupResponse, summary="Scores of up to 1,000 customers",
             responses=error_responses(401, 403, 413, 503))
async def lookup(body: LookupRequest, role: ReaderDep, view: ViewDep) -> LookupResponse:
    wanted = list(dict.fromkeys(body.customer_ids))  # request order, each id once
    positions = [view.position.get(customer_id) for customer_id in wanted]
    return LookupResponse.model_validate({
        "batch": view.info.model_dump(exclude={"file"}),
        "found": view.records([p for p in positions if p is not None]),
        "unknown_ids": [customer_id for customer_id, p in zip(wanted, positions, strict=True) if p is None],
    })


@router.get("/{customer_id}", response_model=CustomerDetail, summary="A customer's latest score",
            responses=error_responses(401, 403, 404, 503))
async def customer(customer_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)],
                   role: ReaderDep, view: ViewDep) -> CustomerDetail:
    position = view.position.get(customer_id)
    if position is None:
        raise HTTPException(404, f"customer_id {customer_id!r}: no score in batch {view.info.batch_id} "
                                 f"(as of {view.info.as_of}); the customer may be newer than the batch")
    return CustomerDetail.model_validate({**view.record(position), **view.info.model_dump(exclude={"file"})})
