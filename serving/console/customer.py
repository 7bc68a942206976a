"""One customer's page (`/app/customers/{customer_id}`) and recording an outreach outcome on it.

The id is the whole rest of the path (ids may hold `/`, as in `/v1/customers/{customer_id}`), so the outreach
form posts to the page's path plus `/outreach`. The ids `.` and `..`, which a browser cannot keep in a path,
have the same page at `/app/customer?id=..` (see `render.customer_path`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from serving.console import charts
from serving.console.access import Agent, AgentDep, Console, ConsoleDep, csrf_refused, read_form
from serving.console.outreach import OUTCOMES, OutreachError
from serving.console.render import BY_QUERY, NO_BATCH, customer_path, error_page, outreach_path, render
from serving.console.timeline import probability_history, read_timeline
from serving.deps import SnapshotDep
from serving.state import ScoreView

router = APIRouter(include_in_schema=False)
PAGE = "/app/customers/{customer_id:path}"


def _position(view: ScoreView | None, customer_id: str) -> int | None:
    return None if view is None else view.position.get(customer_id)


def _not_found(agent: Agent, view: ScoreView | None) -> Response:
    if view is None:
        return error_page(503, "No scores yet", NO_BATCH, agent=agent, csrf_token=agent.csrf_token)
    return error_page(404, "No such customer", "No customer with this id is in the served score batch.",
                      agent=agent, csrf_token=agent.csrf_token)


def _page_context(console: Console, view: ScoreView, customer_id: str, position: int) -> dict[str, Any]:
    """Everything the page shows (file reads: run in a worker thread)."""
    as_of = dt.date.fromisoformat(view.info.as_of)
    timeline = read_timeline(console.settings.data_dir, customer_id, as_of, console.copies)
    history = probability_history(console.settings.data_dir, customer_id, console.copies)
    start, end = timeline.start.to_pydatetime(), timeline.end.to_pydatetime()
    texts = timeline.contacts.dropna(subset=["sentiment"])
    return {
        "customer": console.worklists.get(view).row(position), "events": timeline.events(), "as_of": as_of,
        "sentiment_chart": charts.sentiment_trend(
            [(t.to_pydatetime(), float(s)) for t, s in zip(texts["opened_at"], texts["sentiment"], strict=True)],
            start, end),
        "purchase_chart": charts.purchases_by_month(
            [(t.to_pydatetime(), float(a)) for t, a in zip(timeline.purchases["timestamp"],
                                                           timeline.purchases["amount"].fillna(0.0), strict=True)],
            start, end),
        "history_chart": charts.probability_history(
            [(str(b), float(p)) for b, p in zip(history["batch_id"], history["churn_probability"], strict=True)
             if p == p]),
        "outreach": console.outreach.for_customer(customer_id), "outcomes": OUTCOMES,
    }


@router.get(PAGE)
async def customer_page(customer_id: str, agent: AgentDep, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    position = _position(snapshot.view, customer_id)
    if position is None or snapshot.view is None:
        return _not_found(agent, snapshot.view)
    context = await run_in_threadpool(_page_context, console, snapshot.view, customer_id, position)
    return render("customer.html", agent=agent, csrf_token=agent.csrf_token, action=outreach_path(customer_id),
                  error=None, **context)


@router.post(PAGE + "/outreach")
async def record_outreach(customer_id: str, request: Request, agent: AgentDep, console: ConsoleDep,
                          snapshot: SnapshotDep) -> Response:
    form = await read_form(request)
    if not console.sessions.csrf_ok(agent.session, form.get("csrf_token")):
        return csrf_refused(agent)
    if _position(snapshot.view, customer_id) is None:
        return _not_found(agent, snapshot.view)
    try:
        await run_in_threadpool(console.outreach.record, customer_id, form.get("outcome", ""), form.get("note", ""),
                                agent.name, agent.role, dt.datetime.now(dt.UTC))
    except OutreachError as error:
        return error_page(400, "Not recorded", str(error), agent=agent, csrf_token=agent.csrf_token)
    return RedirectResponse(customer_path(customer_id), status_code=303)


@router.get(BY_QUERY)
async def customer_page_by_query(customer_id: Annotated[str, Query(alias="id", min_length=1)], agent: AgentDep,
                                 console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    return await customer_page(customer_id, agent, console, snapshot)


@router.post(BY_QUERY + "/outreach")
async def record_outreach_by_query(customer_id: Annotated[str, Query(alias="id", min_length=1)], request: Request,
                                   agent: AgentDep, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    return await record_outreach(customer_id, request, agent, console, snapshot)
