"""Parity of the catalogue entries with the name-derived tables they replace: reason wording
(training.reasons.REASON_TEMPLATES), valid ranges (serving.schemas._bounds, CATEGORY_VALUES), monotone signs
(training.churn.FeatureSpace.monotone_constraints) and service families (training.churn.SERVICE_FAMILIES).

Temporary: delete this module together with those tables, once every consumer reads the catalogue."""

from __future__ import annotations

import math
from typing import Any

import pytest

from features import wording
from features.build import FeatureConfig, catalogue
from features.catalogue import SERVICE_FAMILIES, Feature
from serving import schemas
from training import churn, reasons

ENTRIES = catalogue(FeatureConfig(windows=(30, 90, 365), unit="D"))
NUMBERS: tuple[Any, ...] = (0, 1, 2.5, 0.3, -0.4, 0.004, 0.75, 48.5, 120, math.nan, None)
LEVELS: tuple[Any, ...] = ("promoter", "passive", "detractor", "plus", "DE", 0, 2.5, math.nan, None)
# The only intended wording differences: segment and country had no template (generic "feature = value").
INTENDED = {("segment", "plus"): ("segment = plus", "segment plus"),
            ("segment", "DE"): ("segment = DE", "segment DE"),
            ("segment", "promoter"): ("segment = promoter", "segment promoter"),
            ("segment", "passive"): ("segment = passive", "segment passive"),
            ("segment", "detractor"): ("segment = detractor", "segment detractor"),
            ("segment", 0): ("segment = 0", "segment 0"),
            ("segment", 2.5): ("segment = 2.50", "segment 2.5"),
            ("country", "plus"): ("country = plus", "in country plus"),
            ("country", "DE"): ("country = DE", "in country DE"),
            ("country", "promoter"): ("country = promoter", "in country promoter"),
            ("country", "passive"): ("country = passive", "in country passive"),
            ("country", "detractor"): ("country = detractor", "in country detractor"),
            ("country", 0): ("country = 0", "in country 0"),
            ("country", 2.5): ("country = 2.50", "in country 2.5")}


def _cases() -> list[tuple[Feature, Any]]:
    return [(entry, value) for entry in ENTRIES
            for value in (LEVELS if entry.kind == "category" else NUMBERS)]


@pytest.mark.parametrize(("entry", "value"), _cases(), ids=lambda x: x.name if isinstance(x, Feature) else repr(x))
def test_entry_wording_equals_the_regex_table(entry: Feature, value: Any) -> None:
    old, new = reasons.describe(entry.name, value), wording.describe(entry, value)
    assert (old, new) == INTENDED.get((entry.name, value), (old, old))


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind == "category"], ids=lambda e: e.name)
def test_other_level_equals_the_regex_table(entry: Feature) -> None:
    for level in (*(entry.values or ()), "plus"):
        assert wording.other_level(entry, level) == reasons.describe(f"{entry.name}={level}", 0)


def test_every_intended_difference_is_exercised() -> None:
    cases = {(entry.name, value) for entry, value in _cases()}
    assert set(INTENDED) <= cases


def test_valid_ranges_equal_the_schema_tables() -> None:
    for entry in ENTRIES:
        if entry.kind == "category":
            assert entry.values == schemas.CATEGORY_VALUES.get(entry.name), entry.name
        else:
            assert entry.valid_range == schemas._bounds(entry), entry.name


def test_directions_give_the_same_monotone_constraints() -> None:
    def old_sign(name: str) -> int:
        return -1 if name.startswith("sentiment_") else 1 if name.startswith("negative_share_") else 0

    assert {e.name: e.direction for e in ENTRIES} == {e.name: old_sign(e.name) for e in ENTRIES}
    space = churn.FeatureSpace(numeric=tuple(e.name for e in ENTRIES if e.kind != "category"),
                               categories={"nps_last_class": ("promoter", "detractor"), "segment": ("plus",)})
    numeric = [e.direction for e in ENTRIES if e.kind != "category"]
    assert space.monotone_constraints() == "(" + ",".join(map(str, [*numeric, 0, 0, 0])) + ")"


def test_service_families_equal_the_training_list() -> None:
    assert set(SERVICE_FAMILIES) == set(churn.SERVICE_FAMILIES)
    assert [e.name for e in ENTRIES if e.is_service] == [
        e.name for e in ENTRIES if e.family in churn.SERVICE_FAMILIES]
