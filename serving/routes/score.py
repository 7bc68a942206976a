"""On-demand scoring of feature rows sent by a caller (a CRM with fresher data than the last batch).

The request model is built from the feature catalogue when the app is created, so this module hands out a
router factory; annotations are evaluated at definition time on purpose (no postponed annotations here).
"""

from fastapi import APIRouter
from pydantic import BaseModel

from serving.deps import KnownQueryOnly, ModelsDep, ReaderDep
from serving.schemas import ScoreResponse, error_responses


def build_router(request_model: type[BaseModel]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["score"], dependencies=[KnownQueryOnly])

    @router.post("/score", response_model=ScoreResponse, summary="Score up to 1,000 feature rows now",
                 responses=error_responses(401, 403, 413, 503))
    def score(body: request_model, role: ReaderDep, models: ModelsDep) -> ScoreResponse:  # type: ignore[valid-type]
        """Churn probability, risk tier, CLV figures (null without RFM values), value at risk and up to three
        reasons per row, with the champion models loaded now (the same computation as the batch)."""
        rows = [vars(row) for row in body.rows]  # type: ignore[attr-defined]
        return ScoreResponse(churn_model_version=models.churn_version, clv_model_version=models.clv_version,
                             results=models.score(rows))  # type: ignore[arg-type]

    return router
