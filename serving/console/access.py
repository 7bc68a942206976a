"""Who is signed in: the console's shared parts, the signed-in agent of a request, and the redirect to the
login page for a request without a valid session.

The agent's role and name are looked up in the snapshot's key ring on every request from the key hash the
session holds, so a removed key stops working at the next reload and a renamed one shows its new name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.responses import Response

from retain.settings import Settings
from serving.console.copies import SortedCopies
from serving.console.outreach import OutreachStore
from serving.console.overview import OverviewCache
from serving.console.render import error_page
from serving.console.session import COOKIE, Session, Sessions, session_secret
from serving.console.worklist import WorkIndexCache
from serving.deps import SnapshotDep

LOGIN = "/app/login"
HOME = "/app/"


class Console:
    """What every console request shares; the session secret is read (or made) on first use, not at import."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.outreach = OutreachStore(settings.data_dir)
        self.worklists = WorkIndexCache(settings.data_dir)
        self.overviews = OverviewCache(settings)
        self.copies = SortedCopies(settings.data_dir)
        self._sessions: Sessions | None = None
        self._lock = threading.Lock()

    @property
    def sessions(self) -> Sessions:
        with self._lock:
            if self._sessions is None:
                self._sessions = Sessions(session_secret(self.settings), self.settings.session_max_age_seconds)
            return self._sessions


def get_console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


ConsoleDep = Annotated[Console, Depends(get_console)]


@dataclass(frozen=True)
class Agent:
    name: str
    role: str
    session: Session
    csrf_token: str


def current_session(request: Request, console: Console) -> Session | None:
    return console.sessions.read(request.cookies.get(COOKIE))


def safe_next(target: str | None) -> str:
    """`target` if it is a path of the console on this site, else the work list (no open redirect)."""
    if not target or not target.startswith("/app/") or "\\" in target or any(ord(c) < 32 for c in target):
        return HOME
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and not target.startswith("//") else HOME


def login_redirect(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    target = raw.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN}?next={quote(safe_next(target), safe='')}"


async def require_agent(request: Request, console: ConsoleDep, snapshot: SnapshotDep) -> Agent:
    """The signed-in agent, or a 303 to the login page that comes back here afterwards."""
    session = current_session(request, console)
    role = snapshot.keys.role_of_hash(session.key_hash) if session and session.key_hash else None
    if session is None or session.key_hash is None or role is None:
        raise HTTPException(303, "sign in first", headers={"Location": login_redirect(request)})
    name = snapshot.keys.name_of(bytes.fromhex(session.key_hash))
    return Agent(name, role, session, console.sessions.csrf_token(session))


AgentDep = Annotated[Agent, Depends(require_agent)]


def set_session(response: Response, request: Request, console: Console, session: Session | None) -> None:
    """Put `session` in the cookie (HttpOnly, SameSite=Strict, Secure over HTTPS), or clear it (None)."""
    secure = request.url.scheme == "https"
    if session is None:
        response.delete_cookie(COOKIE, path="/app", secure=secure, httponly=True, samesite="strict")
        return
    response.set_cookie(COOKIE, console.sessions.cookie_value(session), path="/app", secure=secure, httponly=True,
                        samesite="strict", max_age=console.settings.session_max_age_seconds)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body's fields (the last value of a repeated one); anything else reads as empty."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: value for name, value in parse_qsl(body, keep_blank_values=True)}


def csrf_refused(agent: Agent | None = None) -> Response:
    return error_page(403, "Refused", "This form has expired or did not come from this console (no valid CSRF "
                      "token). Go back, reload the page and try again.", agent=agent)
