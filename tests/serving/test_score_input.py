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


KNOWN = ["customer_id", "frequency", "recency", "T", "contacts_30d", "nps_last_class", "as_of", "sentiment_last"]
GOOD_ROWS = [["c1", 1, 2.5, 5, 3, "promoter", "2025-12-31", -0.25], ["c2", None, None, 9.0, None, None, None, None]]


def _body(**parts: object) -> bytes:
    return json.dumps(parts).encode()


@pytest.mark.parametrize("raw", [
    _body(columns=KNOWN, data=GOOD_ROWS),
    _body(columns=KNOWN, data=GOOD_ROWS[::-1]),
    b'{ "columns" :' + json.dumps(KNOWN).encode() + b', "data":' + json.dumps(GOOD_ROWS).encode() + b"}",
    _body(columns=KNOWN, data=[["c1", True, 2, 5, 0, None, None, None]]),  # a bool is not a number
    _body(columns=KNOWN, data=[["c1", "1", 2, 5, 0, None, None, None]]),  # nor is a string
    _body(columns=KNOWN, data=[["c1", 1, 2, 5, -1, None, None, None]]),  # out of range
    _body(columns=KNOWN, data=[["c1", 3, 2, 5, 0, None, None, None]]),  # frequency > recency
    _body(columns=KNOWN, data=[["c1", 1, 2, 5, 0, "fan", None, None]]),  # not a category value
    _body(columns=KNOWN, data=[["c1", 1, 2, 5, 0, None, "2025-13-01", None]]),  # not a day
    _body(columns=KNOWN, data=[["", 1, 2, 5, 0, None, None, None]]),  # no id
    _body(columns=KNOWN, data=[["c1", 1, 2, 5]]),  # a short row
    _body(columns=KNOWN, data=[GOOD_ROWS[0] + [1]]),  # a long one
    _body(columns=KNOWN, data=[]),
    _body(columns=KNOWN, data=GOOD_ROWS, rows=None),
    _body(columns=KNOWN, data=GOOD_ROWS, extra=1),
    _body(data=GOOD_ROWS, columns=KNOWN),  # data first
    _body(columns=KNOWN[:4], data=[row[:4] for row in GOOD_ROWS]),  # another list
    b'{"columns": ' + json.dumps(KNOWN).encode() + b', "data": ' + json.dumps(GOOD_ROWS).encode()
    + b', "columns": ' + json.dumps(KNOWN[::-1]).encode() + b"}",  # the key twice: the last one counts
    b'{"columns": ' + json.dumps(KNOWN).encode() + b', "data": [["c1", 1e400, 2, 5, 0, null, null, null]]}',
    b'{"columns": ' + json.dumps(KNOWN).encode() + b', "data": [["c1", 10000000000000000000000, 2, 5, 0, null, '
    b'null, null]]}',
    b'{"columns": ' + json.dumps(KNOWN).encode() + b', "data": [["c1", 1, 2, 5, 0, null, null, null]',  # cut off
])
def test_a_known_column_list_is_read_in_one_pass_with_the_same_outcome(raw: bytes) -> None:
    """Once a column list has been validated, its bodies are typed as they are parsed; that reading must
    accept the same bodies, with the same values, and leave every refusal to the general one (same errors)."""
    features = catalogue(FeatureConfig())
    warm = ScoreInput(features)
    warm.parse(_body(columns=KNOWN, data=GOOD_ROWS[:1]))  # the list is now known
    outcomes = []
    for reader in (ScoreInput(features), warm):  # the general way, then the one-pass way where it applies
        try:
            table = reader.parse(raw)
            outcomes.append((dict(table.columns), [[(type(v), v) for v in row] for row in table.values.tolist()]))
        except RequestValidationError as error:
            outcomes.append(error.errors())
    assert outcomes[0] == outcomes[1]
    if raw in (_body(columns=KNOWN, data=GOOD_ROWS), _body(columns=KNOWN, data=GOOD_ROWS[::-1])):
        assert warm._known_table(raw) is not None  # the one-pass reading did apply
