"""The body of POST /v1/score in either of its two shapes, validated into one `FeatureTable`.

- rows: `{"rows": [{"customer_id": "C1", "frequency": 2, ...}, ...]}`, the shape a CRM record has;
- columns with data: `{"columns": ["customer_id", "frequency", ...], "data": [["C1", 2, ...], ...]}`
  (pandas' "split" orientation, MLflow's `dataframe_split`): each name once instead of once per row, about a
  quarter of the bytes and well under half the parsing for a 1,000-row call.

Both shapes are checked against the same column types (`schemas.feature_fields`), and their errors name the
row and the column: `rows.3.recency: ...`, `data.3.recency: ...`. The body is validated from its bytes by
pydantic's JSON parser, as every body is (serving/request_body.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Annotated, Any, Literal

import numpy as np
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import from_json

from features.catalogue import Feature
from serving.request_body import openapi_components, parse_body
from serving.schemas import MAX_ITEMS, RFM_ORDER, feature_fields, feature_row_model, rfm_order_problem

MAX_COLUMNS = 500
MAX_TABLE_SHAPES = 32  # column lists whose validators are kept; a caller normally sends one
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


@dataclass(frozen=True)
class FeatureTable:
    """Validated feature rows as one object array; a column the caller left out reads as its default."""

    columns: Mapping[str, int]
    values: np.ndarray
    defaults: Mapping[str, object]

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def of_rows(cls, columns: Mapping[str, int], rows: Iterable[Iterable[Any]], count: int,
                defaults: Mapping[str, object]) -> FeatureTable:
        """A table of `count` rows, each an iterable of one value per column. Filled flat: `np.array` of a list
        of tuples discovers the nesting value by value and costs three times as much on a 1,000-row call."""
        flat = np.fromiter(chain.from_iterable(rows), dtype=object, count=count * len(columns))
        return cls(columns, flat.reshape(count, len(columns)), defaults)

    def numbers(self, names: Sequence[str], dtype: type = np.float32) -> np.ndarray:
        """The named numeric columns as a float matrix, missing values as NaN."""
        at = [self.columns.get(name) for name in names]
        if None not in at:  # every column sent (the usual call): one conversion, no filling
            return self.values[:, at].astype(np.float64).astype(dtype, copy=False)  # type: ignore[index]
        out = np.empty((len(self), len(names)), dtype=np.float64)
        given = [(i, self.columns[name]) for i, name in enumerate(names) if name in self.columns]
        if given:
            out[:, [i for i, _ in given]] = self.values[:, [at for _, at in given]].astype(np.float64)
        for i, name in enumerate(names):
            if name not in self.columns:
                default = self.defaults.get(name)
                out[:, i] = np.nan if default is None else float(default)  # type: ignore[arg-type]
        return out.astype(dtype, copy=False)

    def objects(self, name: str) -> np.ndarray:
        if name in self.columns:
            return self.values[:, self.columns[name]]  # type: ignore[no-any-return]
        return np.full(len(self), self.defaults.get(name), dtype=object)


def _one_shape(body: Any) -> Any:
    if body.rows is not None and (body.columns is not None or body.data is not None):
        raise ValueError("send either rows, or columns with data, not both")
    if body.rows is None and (body.columns is None or body.data is None):
        raise ValueError("send rows, or columns with data")
    return body


class ScoreInput:
    """Validation of the /v1/score body against the feature catalogue, and its OpenAPI description."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.fields = feature_fields(features)
        self.row_model = feature_row_model(self.fields)
        self.row_columns = {name: i for i, name in enumerate(self.row_model.model_fields)}
        self.defaults = {name: info.default for name, (_, info) in self.fields.items() if name != "customer_id"}
        shapes: dict[str, Any] = {
            "rows": (list[self.row_model] | None,  # type: ignore[name-defined]
                     Field(default=None, min_length=1, max_length=MAX_ITEMS)),
            "columns": (list[ColumnName] | None, Field(default=None, min_length=1, max_length=MAX_COLUMNS)),
            "data": (list[list[Any]] | None, Field(default=None, min_length=1, max_length=MAX_ITEMS)),
        }
        self.body_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "ScoreBody", __config__=ConfigDict(extra="forbid"),
            __validators__={"one_shape": model_validator(mode="after")(_one_shape)},  # type: ignore[dict-item]
            **shapes,
        )
        self._table_adapters: dict[tuple[str, ...], TypeAdapter[Any]] = {}
        self._table_bodies: dict[tuple[str, ...], type[BaseModel]] = {}

    def parse(self, raw: bytes) -> FeatureTable:
        """The body as a table, or RequestValidationError naming every problem's place."""
        table = self._known_table(raw)
        if table is not None:
            return table
        body = parse_body(self.body_model, raw)
        if body.rows is not None:  # type: ignore[attr-defined]
            # a validated model's __dict__ holds every field in declaration order (tested)
            rows = body.rows  # type: ignore[attr-defined]
            return FeatureTable.of_rows(self.row_columns, (row.__dict__.values() for row in rows), len(rows),
                                        self.defaults)
        return self._table(body.columns, body.data)  # type: ignore[attr-defined]

    def _known_table(self, raw: bytes) -> FeatureTable | None:
        """A columns+data body whose column list was validated before, read in one pass from its bytes (each
        row typed as it is parsed, instead of parsed into lists and then typed: about a third less work on a
        1,000-row call). None for any other body, and for one this pass refuses: that goes the general way,
        which accepts the same bodies with the same values and says what is wrong."""
        columns = _leading_columns(raw)
        model = self._table_bodies.get(columns) if columns is not None else None
        if model is None:
            return None
        try:
            body = model.model_validate_json(raw)
        except ValidationError:
            return None
        if tuple(body.columns) != columns:  # type: ignore[attr-defined]  # the peek read another list
            return None
        return self._typed_table(list(columns), body.data)  # type: ignore[attr-defined]

    def _table(self, columns: list[str], data: list[list[Any]]) -> FeatureTable:
        self._check_columns(columns)
        try:
            rows = self._table_adapter(tuple(columns)).validate_python(data)
        except ValidationError as error:
            raise RequestValidationError([_cell_error(e, columns) for e in error.errors(include_input=False)]
                                         ) from None
        return self._typed_table(columns, rows)

    def _typed_table(self, columns: list[str], rows: list[tuple[Any, ...]]) -> FeatureTable:
        """The table of rows typed column by column, once frequency <= recency <= T holds in each."""
        positions = {name: i for i, name in enumerate(columns)}
        table = FeatureTable.of_rows(positions, rows, len(rows), self.defaults)
        at = [positions.get(name) for name in RFM_ORDER]
        errors = []
        for i in _out_of_rfm_order(table.values, at):  # worded from the row's own values, as the rows shape does
            problem = rfm_order_problem(*(None if p is None else rows[i][p] for p in at))
            if problem:
                errors.append({"type": "value_error", "loc": ("body", "data", i), "msg": f"Value error, {problem}"})
        if errors:
            raise RequestValidationError(errors)
        return table

    def _check_columns(self, columns: list[str]) -> None:
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, name in enumerate(columns):
            if name not in self.fields:
                errors.append({"type": "value_error", "loc": ("body", "columns", i),
                               "msg": f"unknown column {name!r}; columns are customer_id, as_of and the feature "
                                      "catalogue's (the FeatureRow schema)"})
            elif name in seen:
                errors.append({"type": "value_error", "loc": ("body", "columns", i),
                               "msg": f"column {name!r} given twice"})
            seen.add(name)
        if "customer_id" not in seen:
            errors.append({"type": "missing", "loc": ("body", "columns"), "msg": "customer_id is required"})
        if errors:
            raise RequestValidationError(errors)

    def _table_adapter(self, columns: tuple[str, ...]) -> TypeAdapter[Any]:
        """A validator of rows as tuples typed column by column, kept for the next call with these columns."""
        adapter = self._table_adapters.get(columns)
        if adapter is None:
            if len(self._table_adapters) >= MAX_TABLE_SHAPES:
                self._table_adapters.clear()
                self._table_bodies.clear()
            row_type = tuple[tuple(self.fields[name][0] for name in columns)]  # type: ignore[misc, valid-type]
            adapter = self._table_adapters[columns] = TypeAdapter(list[row_type])  # type: ignore[valid-type]
            self._table_bodies[columns] = create_model(  # type: ignore[call-overload]
                "ScoreTableBody", __config__=ConfigDict(extra="forbid"),
                columns=(list[ColumnName], Field(min_length=1, max_length=MAX_COLUMNS)),
                data=(list[row_type], Field(min_length=1, max_length=MAX_ITEMS)),  # type: ignore[valid-type]
            )
        return adapter

    def openapi_components(self) -> dict[str, Any]:
        """The body's documented shapes (ScoreRows or ScoreTable) and the schemas they refer to."""
        names = tuple(self.fields)
        rows_doc = create_model(
            "ScoreRows", __config__=ConfigDict(extra="forbid"),
            rows=(list[self.row_model], Field(min_length=1, max_length=MAX_ITEMS,  # type: ignore[name-defined]
                                              description=f"1 to {MAX_ITEMS:,} feature rows.")),
        )
        table_doc = create_model(
            "ScoreTable", __config__=ConfigDict(extra="forbid"),
            columns=(list[Literal[names]], Field(  # type: ignore[valid-type]
                min_length=1, description="Column names, customer_id among them; a column left out reads as "
                                          "its FeatureRow default.")),
            data=(list[list[str | float | None]], Field(
                min_length=1, max_length=MAX_ITEMS, description=f"1 to {MAX_ITEMS:,} rows, one value per column, "
                                                                "typed as the FeatureRow field of that name.")),
        )
        return {"ScoreBody": {"oneOf": [{"$ref": "#/components/schemas/ScoreRows"},
                                        {"$ref": "#/components/schemas/ScoreTable"}]},
                **openapi_components(rows_doc, table_doc)}


def _leading_columns(raw: bytes) -> tuple[str, ...] | None:
    """The column list of a body that starts with it (`{"columns": [...], "data": ...}`), or None."""
    start = raw.find(b'"columns"', 0, 64)
    end = raw.find(b"]", start) if start >= 0 else -1
    if end < 0:
        return None
    try:
        head = from_json(raw[:end + 1], allow_partial=True)
    except ValueError:
        return None
    columns = head.get("columns") if isinstance(head, dict) else None
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        return None
    return tuple(columns)


def _out_of_rfm_order(values: np.ndarray, at: Sequence[int | None]) -> list[int]:
    """Rows whose frequency, recency and T (columns `at`, None when not sent) may break frequency <= recency
    <= T; a missing value breaks nothing (NaN compares false)."""
    rfm = np.full((len(values), len(at)), np.nan)
    for k, position in enumerate(at):
        if position is not None:
            rfm[:, k] = values[:, position].astype(np.float64)
    frequency, recency, periods = rfm.T
    return np.flatnonzero((recency > periods) | (frequency > recency)).tolist()  # type: ignore[no-any-return]


def _cell_error(error: Any, columns: list[str]) -> dict[str, Any]:
    """A row validator's error, located by row and column name instead of tuple position."""
    loc = list(error["loc"])
    if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(columns):
        loc[1] = columns[loc[1]]
    msg = error["msg"]
    if error["type"] == "too_long" and len(loc) == 1:
        msg = f"{msg}; send one value per column ({len(columns)})"
    return {"type": error["type"], "loc": ("body", "data", *loc), "msg": msg}
