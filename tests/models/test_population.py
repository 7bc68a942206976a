"""The retention population and the tiers within it."""

from __future__ import annotations

import numpy as np
import pytest

from models.population import TIERS, RetentionPopulation, TierThresholds
from serving.schemas import Tier


def test_members_bought_recently_or_are_likely_alive() -> None:
    rfm = np.array([[3.0, 300.0, 320.0], [3.0, 100.0, 320.0], [0.0, 0.0, 10.0], [np.nan, np.nan, np.nan]])
    p_alive = np.array([0.1, 0.9, 1.0, np.nan])
    assert RetentionPopulation(90).members(rfm, p_alive, "D").tolist() == [True, False, True, False]
    assert RetentionPopulation(90, 0.8).members(rfm, p_alive, "D").tolist() == [True, True, True, False]
    weekly = np.array([[3.0, 30.0, 45.0]])  # 15 weeks idle
    assert RetentionPopulation(90).members(weekly, np.array([0.5]), "W").tolist() == [False]


def test_thresholds_put_the_configured_shares_in_high_and_medium() -> None:
    probability = np.random.default_rng(3).random(10_000)
    thresholds = TierThresholds.from_shares(probability, high_share=0.10, medium_share=0.20)
    tiers = thresholds.tiers(probability, np.ones(probability.size, dtype=bool))
    assert np.mean(tiers == "high") == pytest.approx(0.10, abs=0.002)
    assert np.mean(tiers == "medium") == pytest.approx(0.20, abs=0.002)


def test_customers_outside_the_population_are_lapsed_whatever_their_score() -> None:
    thresholds = TierThresholds(medium=0.3, high=0.6)
    tiers = thresholds.tiers(np.array([0.99, 0.99, 0.4, 0.1]), np.array([False, True, True, True]))
    assert tiers.tolist() == ["lapsed", "high", "medium", "low"]


def test_an_empty_population_has_no_thresholds() -> None:
    with pytest.raises(ValueError, match="no customers"):
        TierThresholds.from_shares(np.array([]), 0.1, 0.2)


def test_the_api_tier_values_are_the_models_tiers() -> None:
    assert set(Tier.__args__) == set(TIERS)  # type: ignore[attr-defined]
