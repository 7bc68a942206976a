"""The feature catalogue in docs/ is generated from the code; this keeps it from drifting."""

from __future__ import annotations

from pathlib import Path

from features.build import FeatureConfig, catalogue
from features.catalogue import markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "feature_catalogue.md"


def test_catalogue_doc_matches_the_code() -> None:
    assert DOC.read_text().strip() == markdown(catalogue(FeatureConfig())).strip(), "run `make docs`"


def test_every_feature_has_a_definition_and_a_unique_name() -> None:
    features = catalogue(FeatureConfig())
    names = [f.name for f in features]
    assert len(names) == len(set(names))
    assert all(f.definition.strip() for f in features)
