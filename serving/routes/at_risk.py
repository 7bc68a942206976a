"""The retention team's work list: customers by value at risk, filtered, in stable cursor pages, as JSON or
CSV. A cursor is the batch id and the row position the next page starts at (base64url), so pages neither skip
nor repeat a row while the batch is served; a cursor from an earlier batch gets 409."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from retain.csv_export import csv_text
from serving.deps import ReaderViewDep
from serving.schemas import MAX_CATEGORY_LENGTH, MAX_ITEMS, AtRiskPage, Tier, error_responses
from serving.state import ScoreView

router = APIRouter(prefix="/v1", tags=["at-risk"])  # ReaderViewDep checks the query
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CSV_COLUMNS = ["customer_id", "segment", "churn_probability", "risk_tier", "p_alive", "expected_purchases",
               "clv", "clv_low", "clv_high", "value_at_risk", "reason_1", "reason_2", "reason_3", "best_action",
               "value_saved"]
CSV_TYPE = "text/csv; charset=utf-8"


def _list_key(batch_id: str, order: str | None) -> str:
    """What a cursor belongs to: the batch, and the order when not the default one."""
    return batch_id if order is None else f"{batch_id}+{order}"


def encode_cursor(batch_id: str, position: int, order: str | None = None) -> str:
    return base64.urlsafe_b64encode(f"{_list_key(batch_id, order)}:{position}".encode()).decode().rstrip("=")


def _bad_cursor(cursor: str, why: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("query", "cursor"),
                                    "msg": f"not a cursor this API issued ({why}); use next_cursor as given"}])


def decode_cursor(cursor: str, view: ScoreView, order: str | None = None) -> int:
    """The start position a cursor names; 422 if it is not one of ours or was issued for another order, 409 if
    its batch is gone."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, _, position = text.rpartition(":")
        start = int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad_cursor(cursor, "it does not decode") from None
    batch_id, _, cursor_order = key.partition("+")
    if batch_id == view.info.batch_id and (cursor_order or None) != order:
        raise _bad_cursor(cursor, f"it pages the list by {cursor_order or 'value_at_risk'}; send that order")
    if batch_id != view.info.batch_id:
        raise HTTPException(409, f"cursor: it belongs to a score batch that is no longer served (now "
                                 f"{view.info.batch_id}); start again without a cursor")
    if not 0 < start < len(view) or str(start) != position:
        raise _bad_cursor(cursor, "its position is outside the batch")
    return start


def _csv_row(row: dict[str, Any]) -> list[object]:
    reasons = [*row["reasons"], None, None, None][:3]
    return [row["customer_id"], row["segment"], row["churn_probability"], row["risk_tier"], row["p_alive"],
            row["expected_purchases"], row["clv"], row["clv_low"], row["clv_high"], row["value_at_risk"], *reasons,
            row["best_action"], row["value_saved"]]


def _csv(view: ScoreView, positions: list[int]) -> str:
    """The page for a spreadsheet: text cells that would run as formulas are quoted (retain.csv_export)."""
    return csv_text(CSV_COLUMNS, map(_csv_row, view.records(positions)))


@router.get(
    "/at-risk", response_model=AtRiskPage, summary="Customers by value at risk or value saved (JSON or CSV)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "headers": {"X-Next-Cursor": {"description": "The next page's cursor, absent on the last.",
                                                   "schema": {"type": "string"}}},
                     "description": "A page of the list; CSV with `format=csv` or `Accept: text/csv`."},
               **error_responses(401, 403, 409, 503)},
)
async def at_risk(
    request: Request, view: ReaderViewDep,
    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS, description="Rows per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN,
                                        description="`next_cursor` of the previous page.")] = None,
    tier: Annotated[Tier | None, Query(description="Only this risk tier.")] = None,
    segment: Annotated[str | None, Query(min_length=1, max_length=MAX_CATEGORY_LENGTH,
                                         description="Only this segment.")] = None,
    min_clv: Annotated[float | None, Query(allow_inf_nan=False, description="Only CLV at least this.")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Overrides the Accept header.")] = None,
    order: Annotated[Literal["value_at_risk", "value_saved"], Query(
        description="`value_at_risk` (default): who matters most; `value_saved`: whom acting on (the best "
                    "action) is estimated to save the most.")] = "value_at_risk",
) -> AtRiskPage | Response:
    by = None if order == "value_at_risk" else order
    start = decode_cursor(cursor, view, by) if cursor is not None else 0
    positions, following = view.scan(start, limit, tier, segment, min_clv, by)
    next_cursor = encode_cursor(view.info.batch_id, following, by) if following is not None else None
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        headers["Content-Disposition"] = 'attachment; filename="at-risk.csv"'
        return Response(_csv(view, positions), media_type=CSV_TYPE, headers=headers)
    page = AtRiskPage.model_validate({"batch": view.meta, "next_cursor": next_cursor,
                                      "items": view.records(positions)})
    return Response(page.model_dump_json(), media_type="application/json", headers=headers)
