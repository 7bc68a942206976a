"""On-demand scoring of feature rows sent by a caller (a CRM with fresher data than the last batch).

The request model is built from the feature catalogue when the app is created, so this module hands out a
router factory. The body is validated straight from its bytes by pydantic's JSON parser (`deps.JsonBody`):
FastAPI's own path (json.loads, then validating the Python objects) costs three times as much on a 1,000-row
body, which is most of what a big call costs. The OpenAPI document still describes the body exactly, from
the same model.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel
from pydantic_core import to_json

from serving.deps import JsonBody, KnownQueryOnly, ModelsDep, ReaderDep, validate_json_body
from serving.schemas import ScoreResponse, error_responses


def build_router(request_model: type[BaseModel]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["score"], dependencies=[KnownQueryOnly])
    body_schema = {"$ref": f"#/components/schemas/{request_model.__name__}"}

    @router.post("/score", response_model=ScoreResponse, summary="Score up to 1,000 feature rows now",
                 responses=error_responses(401, 403, 413, 422, 503),
                 openapi_extra={"requestBody": {"required": True,
                                                "content": {"application/json": {"schema": body_schema}}}})
    def score(role: ReaderDep, models: ModelsDep, raw: JsonBody) -> Response:
        """Churn probability, risk tier, CLV figures (null without RFM values), value at risk and up to three
        reasons per row, with the champion models loaded now (the same computation as the batch)."""
        body = validate_json_body(request_model, raw)
        answer = {"churn_model_version": models.churn_version, "clv_model_version": models.clv_version,
                  "results": models.score(body.rows)}  # type: ignore[attr-defined]
        return Response(to_json(answer), media_type="application/json")

    return router
