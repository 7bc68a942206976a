"""The outreach log for the CRM: every outcome agents recorded in the console since a time, as JSON or CSV."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, BeforeValidator

from retain.csv_export import csv_text
from serving.console.outreach import COLUMNS
from serving.deps import KnownQueryOnly, ReaderDep
from serving.routes.at_risk import CSV_TYPE
from serving.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["outreach"], dependencies=[KnownQueryOnly])


def _iso_only(value: object) -> object:
    """Refuse a number: pydantic would read `0.5` as seconds since 1970, but `since` is an ISO 8601 time."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("an ISO 8601 time such as 2026-01-31T09:00:00Z, not a number")
    return value


IsoTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]


class OutreachEntry(BaseModel):
    customer_id: str
    outcome: Literal["contacted", "saved", "not_reachable", "declined"]
    note: str
    key_name: str
    key_role: str
    recorded_at: str


class OutreachLog(BaseModel):
    since: str | None
    items: list[OutreachEntry]


@router.get(
    "/outreach", response_model=OutreachLog, summary="Outreach outcomes recorded since a time (JSON or CSV)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "Oldest first; CSV with `format=csv` or `Accept: text/csv`."},
               **error_responses(401, 403, 422)},
)
async def outreach_log(
    request: Request, role: ReaderDep,
    since: Annotated[IsoTime | None, Query(description="ISO 8601 time (UTC when it has no offset); "
                                                           "only outcomes recorded at or after it.")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Overrides the Accept header.")] = None,
) -> OutreachLog | Response:
    entries = request.app.state.console.outreach.since(since)
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(csv_text(COLUMNS, ([getattr(e, c) for c in COLUMNS] for e in entries)), media_type=CSV_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="outreach.csv"'})
    log = OutreachLog(since=since.isoformat() if since else None, items=[e.as_dict() for e in entries])
    return Response(log.model_dump_json(), media_type="application/json")
