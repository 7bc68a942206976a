"""The work list (`/app/`), its CSV (`/app/export.csv`) and the overview (`/app/overview`).

Query values come from a browser form, so they are read here rather than by FastAPI's validation: an empty
field means "any", and a bad value gets the page again with a message that names the field (400), never a
JSON error or a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from retain.csv_export import csv_text
from serving.console import charts
from serving.console.access import HOME, Agent, AgentDep, Console, ConsoleDep
from serving.console.render import NO_BATCH, error_page, render
from serving.console.worklist import COLUMNS, FilterError, Filters, Sort, WorkIndex, parse_limit
from serving.deps import SnapshotDep
from serving.routes.at_risk import CSV_TYPE, decode_cursor, encode_cursor
from serving.state import TIER_CODES, ScoreView

router = APIRouter(include_in_schema=False)
TEXT_COLUMNS = ("customer_id", "risk_tier", "top_reason", "best_action")
LABELS = {"customer_id": "Customer", "churn_probability": "Churn probability", "risk_tier": "Tier", "clv": "CLV",
          "value_at_risk": "Value at risk", "value_saved": "Value saved (est.)", "best_action": "Best action",
          "top_reason": "Top reason",
          "oldest_open_case_days": "Oldest open case (days)", "days_since_last_purchase": "Days since last purchase"}


def _no_batch(agent: Agent) -> Response:
    return error_page(503, "No scores yet", NO_BATCH, agent=agent, csrf_token=agent.csrf_token)


def _start(cursor: str | None, view: ScoreView) -> int:
    """The page's start from `/v1/at-risk`'s cursor format; a bad or stale cursor is a FilterError."""
    if not cursor:
        return 0
    try:
        return decode_cursor(cursor, view)
    except RequestValidationError:
        raise FilterError("cursor: not a page link of this list; start again from the first page") from None
    except HTTPException:
        raise FilterError("cursor: the scores were refreshed since this page; start again from the first page") \
            from None


def _contacted(console: Console, filters: Filters) -> set[str]:
    if filters.not_contacted_days is None:
        return set()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=filters.not_contacted_days)
    return console.outreach.contacted_since(since)


def _sort_links(filters: Filters, sort: Sort, limit: str | None) -> dict[str, dict[str, str]]:
    links = {}
    for column in COLUMNS:
        if column == sort.column:
            order = "asc" if sort.order == "desc" else "desc"
        else:
            order = "asc" if column in TEXT_COLUMNS else "desc"
        links[column] = {**filters.query(), "sort": column, "order": order, **({"limit": limit} if limit else {})}
    return links


def _work_list(request: Request, console: Console, agent: Agent, view: ScoreView) -> Response:
    params = dict(request.query_params)
    index: WorkIndex = console.worklists.get(view)
    context: dict[str, Any] = {"agent": agent, "csrf_token": agent.csrf_token, "columns": COLUMNS, "labels": LABELS,
                               "tiers": list(TIER_CODES), "segments": index.segment_names,
                               "countries": index.country_names,
                               "params": params, "rows": [], "count": 0, "value_at_risk": 0.0, "next_query": None,
                               "error": None, "sort": Sort(), "filters": Filters(), "sort_links": {},
                               "export_query": {}}
    try:
        filters, sort = Filters.parse(params), Sort.parse(params)
        limit = parse_limit(params.get("limit"))
        start = _start(params.get("cursor"), view)
    except FilterError as error:
        context["error"] = str(error)
        return render("worklist.html", 400, **context)
    page = index.page(filters, sort, start, limit, _contacted(console, filters))
    keep = {**filters.query(), **({} if sort.is_default else {"sort": sort.column, "order": sort.order})}
    if params.get("limit"):
        keep["limit"] = str(limit)
    context.update(
        rows=[index.row(i) for i in page.positions], count=page.count, value_at_risk=page.value_at_risk,
        sort=sort, filters=filters, sort_links=_sort_links(filters, sort, params.get("limit")), export_query=keep,
        next_query={**keep, "cursor": encode_cursor(view.info.batch_id, page.next_start)}
        if page.next_start is not None else None)
    return render("worklist.html", **context)


@router.get(HOME)
def work_list(request: Request, agent: AgentDep, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    if snapshot.view is None:
        return _no_batch(agent)
    return _work_list(request, console, agent, snapshot.view)


def export_rows(index: WorkIndex, positions: np.ndarray) -> str:
    """The rows at `positions` as CSV with the work list's columns (formula-safe, `retain.csv_export`)."""
    frame = pd.DataFrame({name: index.column(name)[positions] for name in COLUMNS})
    for name in frame.columns:
        if frame[name].dtype == float:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return csv_text(list(COLUMNS), frame.itertuples(index=False, name=None))


@router.get("/app/export.csv")
def export(request: Request, agent: AgentDep, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    view = snapshot.view
    if view is None:
        return _no_batch(agent)
    params = dict(request.query_params)
    try:
        filters, sort = Filters.parse(params), Sort.parse(params)
    except FilterError as error:
        return error_page(400, "Cannot export", str(error), agent=agent, csrf_token=agent.csrf_token)
    index = console.worklists.get(view)
    positions = index.all_positions(filters, sort, _contacted(console, filters))
    return Response(export_rows(index, positions), media_type=CSV_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="work-list.csv"'})


@router.get("/app/overview")
async def overview(agent: AgentDep, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    view = snapshot.view
    if view is None:
        return _no_batch(agent)
    figures, runs = await run_in_threadpool(console.overviews.get, view)
    chart = charts.histogram(figures.counts, figures.edges, "Churn probability across customers", "customers")
    scored = dt.datetime.fromisoformat(view.info.scored_at)
    age = dt.datetime.now(dt.UTC) - (scored if scored.tzinfo else scored.replace(tzinfo=dt.UTC))
    return render("overview.html", agent=agent, csrf_token=agent.csrf_token, info=view.info, figures=figures,
                  runs=runs, chart=chart, age_hours=age.total_seconds() / 3600)
