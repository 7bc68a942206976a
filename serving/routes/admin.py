"""Operations for the admin role: reload the champion models and the newest score batch."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from serving.deps import AdminDep, KnownQueryOnly, StateDep
from serving.routes.health import readiness
from serving.schemas import Readiness, error_responses
from serving.state import ReloadFailed

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[KnownQueryOnly])


@router.post("/reload", response_model=Readiness, summary="Swap in the current champions and newest batch",
             responses=error_responses(401, 403, 503))
def reload(role: AdminDep, state: StateDep) -> Readiness:
    """Loads everything off to the side, then swaps it in at once; requests in flight finish on the old
    snapshot. If anything fails to load, nothing changes and the answer is 503 with the reason."""
    try:
        return readiness(state.reload())
    except ReloadFailed as error:
        served = state.snapshot.view.info.batch_id if state.snapshot.view is not None else "none"
        raise HTTPException(503, f"reload failed, still serving batch {served}: {error}") from None
