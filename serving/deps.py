"""Dependencies, injected through `Annotated` aliases: the state, the request's snapshot, roles, and the parts
of the snapshot a route needs (503 when they are not loaded). All are cheap and `async`, so none of them
costs a trip through the thread pool."""

from __future__ import annotations

import email.message
from typing import Annotated, Any, get_origin

from fastapi import Depends, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader

from models.scoring import Scorer
from serving.auth import HEADER, Role
from serving.state import AppState, ScoreView, Snapshot

api_key_header = APIKeyHeader(name=HEADER, auto_error=False, scheme_name="ApiKey",
                              description="An API key of role `reader` (scores) or `admin` (also reload).")


async def get_state(request: Request) -> AppState:
    return request.app.state.retain  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


async def get_snapshot(state: StateDep) -> Snapshot:
    """The snapshot this request reads from start to end (taken once; FastAPI caches it per request)."""
    return state.snapshot


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


KeyHeader = Annotated[str | None, Security(api_key_header)]


def authorize(snapshot: Snapshot, key: str | None, required: Role) -> Role:
    """The key's role, if it may do what needs `required`: 401 for a missing or unknown key, 403 for too low."""
    role = snapshot.keys.role_of(key)
    if role is None:
        what = "missing" if not key else "not a known key"
        raise HTTPException(401, f"{HEADER} header: {what}; send an API key of role {required}",
                            headers={"WWW-Authenticate": HEADER})
    if not snapshot.keys.allows(role, required):
        raise HTTPException(403, f"{HEADER} header: a {role} key may not do this; it needs role {required}")
    return role


def _role_check(required: Role):  # type: ignore[no-untyped-def]
    async def check(snapshot: SnapshotDep, key: KeyHeader = None) -> Role:
        return authorize(snapshot, key, required)

    return check


require_reader = _role_check("reader")
require_admin = _role_check("admin")
ReaderDep = Annotated[Role, Depends(require_reader)]
AdminDep = Annotated[Role, Depends(require_admin)]


def _view(snapshot: Snapshot) -> ScoreView:
    if snapshot.view is None:
        raise HTTPException(503, "no score batch is loaded: run `retain score`, then POST /v1/admin/reload")
    return snapshot.view


def _models(snapshot: Snapshot) -> Scorer:
    if snapshot.models is None:
        raise HTTPException(503, "no champion models are loaded: run `retain train`, then POST /v1/admin/reload")
    return snapshot.models


async def reader_view(request: Request, key: KeyHeader = None) -> ScoreView:
    """The query check (`known_query_only`), a reader key and the batch, from one snapshot taken here. One
    dependency where the check, role, snapshot, state and view were five: FastAPI solves each dependency of each
    request anew, and that was about half of what a `GET /v1/customers/{id}` cost in the app. Routes taking it
    leave `KnownQueryOnly` out."""
    await known_query_only(request)
    snapshot = (await get_state(request)).snapshot
    authorize(snapshot, key, "reader")
    return _view(snapshot)


async def reader_models(request: Request, key: KeyHeader = None) -> Scorer:
    """The query check, a reader key and the champion models, from one snapshot taken here (see
    `reader_view`)."""
    await known_query_only(request)
    snapshot = (await get_state(request)).snapshot
    authorize(snapshot, key, "reader")
    return _models(snapshot)


ReaderViewDep = Annotated[ScoreView, Depends(reader_view)]
ReaderModelsDep = Annotated[Scorer, Depends(reader_models)]


_QUERY_NAMES: dict[int, dict[str, bool]] = {}


def _query_names(dependant: Any) -> dict[str, bool]:
    """Each query parameter a route takes, and whether it may repeat (a list parameter)."""
    names = {param.alias: get_origin(param.field_info.annotation) is list for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query_only(request: Request) -> None:
    """422 for a query parameter the route does not take (`?teir=high` would otherwise be ignored silently)
    or one given twice that takes a single value (`?tier=high&tier=low` would otherwise keep the last)."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = _QUERY_NAMES[id(route)] = _query_names(route.dependant)
    takes = ", ".join(sorted(names)) or "none"
    seen: set[str] = set()
    errors = []
    for name, _ in request.query_params.multi_items():
        if name not in names:
            errors.append({"type": "extra_forbidden", "loc": ("query", name),
                           "msg": f"unknown query parameter {name!r}; this route takes {takes}"})
        elif name in seen and not names[name]:
            errors.append({"type": "value_error", "loc": ("query", name),
                           "msg": f"query parameter {name!r} given more than once; give it once"})
        seen.add(name)
    if errors:
        raise RequestValidationError(errors)


KnownQueryOnly = Depends(known_query_only)


async def json_body(request: Request) -> bytes:
    """The raw body of a JSON request, for a route that validates it itself; 422 for a body declared as
    something else."""
    content_type = request.headers.get("content-type")
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
            raise RequestValidationError([{"type": "model_attributes_type", "loc": ("body",),
                                           "msg": "send JSON, with Content-Type: application/json"}])
    return await request.body()


JsonBody = Annotated[bytes, Depends(json_body)]
