"""On-demand scoring of feature rows sent by a caller (a CRM with fresher data than the last batch).

The body (rows, or columns with data; see serving/score_input.py) is validated from its bytes against the
feature catalogue's columns, so this module hands out a router factory that gets the app's `ScoreInput`.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from serving.deps import JsonBody, ReaderModelsDep
from serving.request_body import openapi_body
from serving.schemas import ScoreResponse, error_responses
from serving.score_input import ScoreInput
from serving.state import score_table


def build_router(score_input: ScoreInput) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["score"])  # ReaderModelsDep checks the query

    @router.post("/score", response_model=ScoreResponse, summary="Score up to 1,000 feature rows now",
                 responses=error_responses(401, 403, 413, 422, 503),
                 openapi_extra=openapi_body("ScoreBody"))
    def score(models: ReaderModelsDep, raw: JsonBody) -> Response:
        """Churn probability, risk tier, CLV figures (null without RFM values), value at risk and up to three
        reasons per row, with the champion models loaded now (the same computation as the batch). Send
        `rows` (one object per customer) or `columns` with `data` (names once, then one list per customer:
        smaller and faster for big calls); results come in request order either way."""
        answer = {"churn_model_version": models.churn_version, "clv_model_version": models.clv_version,
                  "results": score_table(models, score_input.parse(raw))}
        return Response(orjson.dumps(answer), media_type="application/json")  # 3x pydantic's to_json here

    return router
