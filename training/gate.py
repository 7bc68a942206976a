"""The promotion rule: a new model version becomes `champion` only if it is at least as good as the current
champion on the same test data, or when forced. Pure: metrics in, decision out."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


class GateDecision(BaseModel):
    """Whether to promote, and the sentence that says why (logged and printed)."""

    model_config = ConfigDict(frozen=True)

    promote: bool
    reason: str


def decide(metric: str, candidate: float, champion: float | None, higher_is_better: bool,
           force: bool = False) -> GateDecision:
    """Compare the candidate's test metric with the champion's on the same data."""
    if not math.isfinite(candidate):
        return GateDecision(promote=False, reason=f"candidate {metric} is not a number ({candidate})")
    if force:
        return GateDecision(promote=True, reason=f"forced (candidate {metric}={candidate:.4f})")
    if champion is None or not math.isfinite(champion):
        return GateDecision(promote=True, reason=f"no comparable champion (candidate {metric}={candidate:.4f})")
    better = candidate >= champion if higher_is_better else candidate <= champion
    relation = "at least as good as" if better else "worse than"
    return GateDecision(promote=better,
                        reason=f"candidate {metric}={candidate:.4f} is {relation} champion's {champion:.4f}")
