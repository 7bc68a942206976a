"""Liveness, readiness and metrics: no API key needed (metrics unless `api_metrics_public` is off)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from serving.deps import SnapshotDep, require_reader
from serving.metrics import CONTENT_TYPE, score_age_seconds
from serving.schemas import BatchMeta, ErrorMessage, Health, ModelVersions, Readiness
from serving.state import Snapshot


def readiness(snapshot: Snapshot) -> Readiness:
    """What the snapshot holds: batch and model versions, the batch's age, and any loading problems."""
    batch = BatchMeta(**snapshot.view.info.model_dump(exclude={"file"})) if snapshot.view is not None else None
    models = (ModelVersions(churn_model_version=snapshot.models.churn_version,
                            clv_model_version=snapshot.models.clv_version)
              if snapshot.models is not None else None)
    return Readiness(ready=snapshot.ready, batch=batch, models=models, loaded_at=snapshot.loaded_at,
                     score_age_seconds=score_age_seconds(snapshot, dt.datetime.now(dt.UTC)),
                     problems=list(snapshot.problems))


def build_router(metrics_public: bool) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", response_model=Health, summary="Liveness: the process answers")
    async def health() -> Health:
        return Health()

    @router.get("/ready", response_model=Readiness, summary="Readiness: batch and models loaded",
                responses={503: {"model": Readiness, "description": "Not ready; `problems` says why."}})
    async def ready(snapshot: SnapshotDep) -> Readiness | JSONResponse:
        state = readiness(snapshot)
        if not state.ready:
            return JSONResponse(state.model_dump(mode="json"), status_code=503)
        return state

    metrics_errors: dict[int | str, dict[str, Any]] = (
        {} if metrics_public else {401: {"model": ErrorMessage}, 403: {"model": ErrorMessage}})

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response,
                dependencies=[] if metrics_public else [Depends(require_reader)],
                responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                 "description": "Prometheus text format."}, **metrics_errors})
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)

    return router
