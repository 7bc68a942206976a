"""The /v1/score body parser on its own: both shapes give the same table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.exceptions import RequestValidationError

from features.build import FeatureConfig, catalogue
from serving.score_input import ScoreInput


@pytest.fixture(scope="module")
def score_input() -> ScoreInput:
    return ScoreInput(catalogue(FeatureConfig()))


def test_a_validated_row_keeps_its_fields_in_declaration_order(score_input: ScoreInput) -> None:
    """The rows shape reads values by position from each row's __dict__; that relies on this order."""
    row = score_input.row_model.model_validate({"T": 5.0, "customer_id": "c1", "frequency": 1.0, "recency": 2.0})
    assert list(row.__dict__) == list(score_input.row_columns)


def test_both_shapes_give_the_same_numbers(score_input: ScoreInput) -> None:
    rows = [{"customer_id": "c1", "frequency": 1, "recency": 2, "T": 5, "nps_last_class": "promoter"},
            {"customer_id": "c2", "T": 9, "sentiment_last": -0.5}]
    columns = ["T", "customer_id", "frequency", "recency", "sentiment_last", "nps_last_class"]
    by_rows = score_input.parse(json.dumps({"rows": rows}).encode())
    by_table = score_input.parse(json.dumps({"columns": columns, "data": [[r.get(c) for c in columns]
                                                                          for r in rows]}).encode())
    names = ["frequency", "recency", "T", "sentiment_last", "contacts_30d", "monetary_value"]
    np.testing.assert_array_equal(by_rows.numbers(names), by_table.numbers(names))
    np.testing.assert_array_equal(by_table.numbers(["contacts_30d"])[:, 0], [0, 0])  # a count: absent is 0
    assert np.isnan(by_table.numbers(["monetary_value"])).all()  # a value: absent is missing
    assert by_rows.objects("nps_last_class").tolist() == by_table.objects("nps_last_class").tolist() == [
        "promoter", None]
    assert by_table.objects("customer_id").tolist() == ["c1", "c2"]


def test_errors_name_the_row_and_column(score_input: ScoreInput) -> None:
    with pytest.raises(RequestValidationError) as caught:
        score_input.parse(b'{"columns": ["customer_id", "spend_30d"], "data": [["c1", 1], ["c2", "x"]]}')
    assert [e["loc"] for e in caught.value.errors()] == [("body", "data", 1, "spend_30d")]
    assert "input" not in caught.value.errors()[0]
