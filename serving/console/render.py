"""Pages from Jinja2 templates that ship in the package, with autoescape on for every template: a customer id,
segment or message of `<script>alert(1)</script>` is shown as text. Number formats and the customer link are
template filters, so every page writes them the same way."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from models.actions import ACTIONS

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


DOT_SEGMENTS = (".", "..")
BY_QUERY = "/app/customer"  # the page of an id that cannot be a path segment


def customer_path(customer_id: str) -> str:
    """The customer page's path: the id as one URL path segment. A browser resolves a `.` or `..` segment even
    percent-encoded (WHATWG URL: `%2E%2E` is `..`), so those two ids go in the query instead."""
    if customer_id in DOT_SEGMENTS:
        return f"{BY_QUERY}?{urlencode({'id': customer_id})}"
    return f"/app/customers/{quote(customer_id, safe='')}"


def outreach_path(customer_id: str) -> str:
    """Where the customer page's outreach form posts."""
    if customer_id in DOT_SEGMENTS:
        return f"{BY_QUERY}/outreach?{urlencode({'id': customer_id})}"
    return customer_path(customer_id) + "/outreach"


def _number(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _percent(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1%}"


def _days(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def _when(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return f"{value:%Y-%m-%d %H:%M}" + (" UTC" if isinstance(value, dt.datetime) else "")


def _query(params: dict[str, str], **changes: str | None) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
def _action(name: Any) -> str:
    """An action's label for agents, "–" for none."""
    labels: dict[str, str] = {action_name: action.label for action_name, action in ACTIONS.items()}
    return labels.get(name, "–") if isinstance(name, str) else "–"


ENVIRONMENT.filters.update(number=_number, percent=_percent, days=_days, when=_when, customer_path=customer_path,
                           action=_action)
ENVIRONMENT.globals.update(query=_query)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("agent", None)
    context.setdefault("csrf_token", "")
    return HTMLResponse(ENVIRONMENT.get_template(template).render(**context), status_code=status)


def error_page(status: int, title: str, message: str, **context: Any) -> HTMLResponse:
    return render("error.html", status, title=title, message=message, **context)


NO_BATCH = "No score batch is loaded yet: run `retain score`, then reload the service (POST /v1/admin/reload)."
