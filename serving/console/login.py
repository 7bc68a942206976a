"""Signing in and out of the console with an API key (reader or admin).

The key is checked against the served key ring and never stored: the new session holds its hash. A wrong key
gets the login page again with 401; every form needs the CSRF token of the visitor's session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from serving.console.access import (
    HOME,
    LOGIN,
    ConsoleDep,
    Session,
    csrf_refused,
    current_session,
    read_form,
    safe_next,
    set_session,
)
from serving.console.render import render
from serving.deps import SnapshotDep

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, console: ConsoleDep, session: Session, target: str, status: int = 200,
                error: str | None = None) -> Response:
    response = render("login.html", status, csrf_token=console.sessions.csrf_token(session), next=target,
                      error=error)
    set_session(response, request, console, session)
    return response


@router.get(LOGIN)
async def login_form(request: Request, console: ConsoleDep) -> Response:
    session = current_session(request, console) or Session.fresh()
    return _login_page(request, console, session, safe_next(request.query_params.get("next")))


@router.post(LOGIN)
async def login(request: Request, console: ConsoleDep, snapshot: SnapshotDep) -> Response:
    form = await read_form(request)
    session = current_session(request, console)
    if not console.sessions.csrf_ok(session, form.get("csrf_token")):
        return csrf_refused()
    assert session is not None
    target = safe_next(form.get("next"))
    found = snapshot.keys.identify(form.get("api_key", "").strip())
    if found is None:
        return _login_page(request, console, session, target, 401,
                           "That API key is not known here. Check it, or ask for one (`retain api-key`).")
    _, _, key_hash = found
    response = RedirectResponse(target, status_code=303)
    set_session(response, request, console, Session.fresh(key_hash))  # a new id: no session fixation
    return response


@router.post("/app/logout")
async def logout(request: Request, console: ConsoleDep) -> Response:
    form = await read_form(request)
    session = current_session(request, console)
    if not console.sessions.csrf_ok(session, form.get("csrf_token")):
        return csrf_refused()
    response = RedirectResponse(LOGIN, status_code=303)
    set_session(response, request, console, None)
    return response


@router.get("/app", include_in_schema=False)
async def root() -> Response:
    return RedirectResponse(HOME, status_code=303)
