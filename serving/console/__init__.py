"""The web console for retention agents (`/app/...`): server-rendered pages in the API's own app, over the same
snapshot and keys. `mount(app, settings)` adds its routes, static files and security headers.

Modules, one job each: `session` (signed cookies, CSRF tokens), `access` (who is signed in), `login`,
`worklist` (filters, sorting, cursor pages), `pages` (work list, CSV, overview), `customer` (one customer,
outreach form), `timeline` (a customer's rows from the files), `charts` (SVG), `overview` (batch figures,
MLflow links), `outreach` (the SQLite log), `headers`, `render` (templates).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from retain.settings import Settings
from serving.console import customer, login, pages
from serving.console.access import Console
from serving.console.headers import SecurityHeaders
from serving.console.render import STATIC

__all__ = ["Console", "mount"]


def mount(app: FastAPI, settings: Settings) -> Console:
    """Serve the console from `app`; its shared parts are `app.state.console`."""
    app.state.console = console = Console(settings)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(customer.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    return console
