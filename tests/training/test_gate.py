"""The promotion rule (`training.gate.decide`): pure, so every branch is checked by hand."""

from __future__ import annotations

import math

import pytest

from training.gate import GateDecision, decide

# (candidate, champion, promote) for a metric where higher is better (ROC-AUC) ...
HIGHER = [(0.81, 0.80, True), (0.80, 0.80, True), (0.79, 0.80, False)]
# ... and where lower is better (MAE)
LOWER = [(0.11, 0.12, True), (0.12, 0.12, True), (0.13, 0.12, False)]


@pytest.mark.parametrize(("candidate", "champion", "promote"), HIGHER)
def test_higher_is_better(candidate: float, champion: float, promote: bool) -> None:
    decision = decide("ROC-AUC", candidate, champion, higher_is_better=True)
    assert decision.promote is promote
    assert ("worse than" in decision.reason) is not promote
    assert f"{candidate:.4f}" in decision.reason and f"{champion:.4f}" in decision.reason


@pytest.mark.parametrize(("candidate", "champion", "promote"), LOWER)
def test_lower_is_better(candidate: float, champion: float, promote: bool) -> None:
    decision = decide("MAE", candidate, champion, higher_is_better=False)
    assert decision.promote is promote
    assert ("worse than" in decision.reason) is not promote


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_the_direction_matters(higher_is_better: bool) -> None:
    """The same numbers give opposite decisions for the two directions (no direction is hard-wired)."""
    assert decide("m", 0.9, 0.5, higher_is_better).promote is higher_is_better
    assert decide("m", 0.5, 0.9, higher_is_better).promote is not higher_is_better


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_force_promotes_a_worse_candidate(higher_is_better: bool) -> None:
    worse = 0.5 if higher_is_better else 0.9
    decision = decide("m", worse, 0.7, higher_is_better, force=True)
    assert decision.promote
    assert decision.reason.startswith("forced")


@pytest.mark.parametrize("candidate", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("champion", [None, 0.7, math.nan])
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_a_candidate_that_is_not_a_number_never_promotes(candidate: float, champion: float | None,
                                                         force: bool, higher_is_better: bool) -> None:
    decision = decide("ROC-AUC", candidate, champion, higher_is_better, force=force)
    assert not decision.promote
    assert "not a number" in decision.reason


@pytest.mark.parametrize("champion", [None, math.nan])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_no_comparable_champion_promotes(champion: float | None, higher_is_better: bool) -> None:
    decision = decide("ROC-AUC", 0.6, champion, higher_is_better)
    assert decision.promote
    assert "no comparable champion" in decision.reason


def test_decisions_are_immutable_values() -> None:
    decision = decide("ROC-AUC", 0.8, 0.7, higher_is_better=True)
    assert decision == GateDecision(promote=True, reason=decision.reason)
    with pytest.raises(ValueError, match="frozen"):
        decision.promote = False  # type: ignore[misc]
