"""The web console for retention agents (`/app/...`): server-rendered pages in the API's own app, over the same
snapshot and keys. `mount(app, settings)` adds its routes, static files and security headers.

Modules, one job each: `session` (signed cookies, CSRF tokens), `access` (who is signed in), `login`,
`worklist` (filters, sorting, cursor pages), `pages` (work list, CSV, overview), `customer` (one customer,
outreach form), `timeline` (a customer's rows from the files), `charts` (SVG), `overview` (batch figures,
MLflow links), `outreach` (the SQLite log), `headers`, `render` (templates).
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from retain.settings import Settings
from serving.console import customer, login, pages
from serving.console.access import Console
from serving.console.headers import SecurityHeaders
from serving.console.render import STATIC
from serving.console.timeline import prepare_copies
from serving.state import ScoreView

__all__ = ["Console", "mount", "warm"]
log = logging.getLogger("retain.console")


def mount(app: FastAPI, settings: Settings) -> Console:
    """Serve the console from `app`; its shared parts are `app.state.console`."""
    app.state.console = console = Console(settings)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(customer.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    return console


def warm(console: Console, view: ScoreView | None) -> threading.Thread:
    """Build the work list's index of `view` and queue the customer page's sorted copies in the background, so
    the first agent does not wait for them (a request that comes first builds what it needs itself)."""

    def run() -> None:
        try:
            if view is not None:
                console.worklists.get(view)
            prepare_copies(console.settings.data_dir, console.copies)
        except Exception as error:  # noqa: BLE001 - warming is an optimisation; requests build what they need
            log.warning("console: warming up failed (%s); pages build what they need", type(error).__name__)

    thread = threading.Thread(target=run, name="console-warm", daemon=True)
    thread.start()
    return thread
