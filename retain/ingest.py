"""Validated ingest: read the three tables, check them against the contract, report every problem at once.

Type parsing is vectorised per column (a cell that does not parse is a problem, not a crash); value rules,
uniqueness and cross-column/cross-table rules are a pandera schema built from `retain.contract`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel

from retain.contract import PANDAS_DTYPES, TABLES, ColumnSpec, TableSpec
from retain.errors import RetainError
from retain.storage import find_table, read_raw, write_table

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
CLOSED_BEFORE_OPENED = "closed_at must not be before opened_at"
UNKNOWN_CUSTOMER = "customer_id must exist in customers (as a valid row)"


class Problem(BaseModel):
    """One thing wrong in an input file. `row` is the 1-based data row (CSV line = row + 1)."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f", row {self.row}" if self.row is not None else "")
        column = f", column '{self.column}'" if self.column else ""
        value = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{column}{value}: {self.rule}"


@dataclass
class TableCheck:
    """The outcome of checking one table: the typed good rows, the raw bad rows and the problems."""

    spec: TableSpec
    path: Path
    good: pd.DataFrame
    bad_raw: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


@dataclass
class DataSet:
    """The three validated tables, ready for the pipeline."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    interactions: pd.DataFrame
    checks: dict[str, TableCheck]

    @property
    def problems(self) -> list[Problem]:
        return [problem for check in self.checks.values() for problem in check.problems]

    @property
    def set_aside(self) -> int:
        return sum(len(check.bad_raw) for check in self.checks.values())


class ValidationFailed(RetainError):
    """The input broke the contract; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the input data")


def _parse_column(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column to its contract type: (parsed values, mask of cells that did not parse, rule text)."""
    present = raw.notna()
    if spec.kind in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(raw):
            parsed = raw.dt.tz_convert("UTC").dt.tz_localize(None) if raw.dt.tz is not None else raw
        else:
            parsed = pd.to_datetime(raw.astype("string"), errors="coerce", format="ISO8601", utc=True)
            parsed = parsed.dt.tz_localize(None)
        parsed = parsed.astype("datetime64[us]")
        if spec.kind == "date":
            parsed = parsed.dt.normalize()
        rule = "not a valid date (YYYY-MM-DD)" if spec.kind == "date" else "not a valid timestamp (ISO 8601)"
        return parsed, present & parsed.isna(), rule
    if spec.kind in ("float", "int"):
        if pd.api.types.is_bool_dtype(raw):
            raw = raw.astype("object")
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
        numbers = numbers.where(np.isfinite(numbers))  # "inf" is no amount or count (and cannot be Int64)
        bad = present & numbers.isna()
        if spec.kind == "float":
            return numbers, bad, "not a number"
        fractional = numbers.notna() & ((np.floor(numbers) != numbers) | (numbers.abs() >= 2.0**63))
        return numbers.where(~fractional).astype("Int64"), bad | fractional, "not a whole number"
    if spec.kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean"), pd.Series(False, index=raw.index), ""
        words = raw.astype("string").str.strip().str.lower()
        parsed = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        parsed[words.isin(TRUE_WORDS).fillna(False)] = True
        parsed[words.isin(FALSE_WORDS).fillna(False)] = False
        return parsed, present & parsed.isna(), "not a boolean (true/false)"
    text = raw.astype("string")
    if spec.allowed:
        text = text.str.strip().str.lower()  # "Phone " is the phone channel
    return text, pd.Series(False, index=raw.index), ""


def _schema(spec: TableSpec, present: set[str], known_customers: pd.Series | None) -> pa.DataFrameSchema:
    """The pandera schema for the value rules of the columns that are present."""
    columns: dict[str, pa.Column] = {}
    for column in spec.columns:
        if column.name not in present:
            continue
        checks = []
        if column.ge is not None:
            checks.append(pa.Check.ge(column.ge, error=f"must be >= {column.ge:g}"))
        if column.le is not None:
            checks.append(pa.Check.le(column.le, error=f"must be <= {column.le:g}"))
        if column.length is not None:
            checks.append(pa.Check.str_length(*column.length, error=f"must be {column.length_rule} long"))
        if column.allowed:
            checks.append(pa.Check.isin(column.allowed, error="must be one of " + "|".join(column.allowed)))
        if column.references_customers and known_customers is not None:
            checks.append(pa.Check.isin(known_customers, error=UNKNOWN_CUSTOMER))
        columns[column.name] = pa.Column(
            nullable=column.nullable, unique=column.unique, checks=checks, required=False
        )
    frame_checks = []
    if {"opened_at", "closed_at"} <= present:
        frame_checks.append(
            pa.Check(
                lambda d: d["closed_at"].isna() | d["opened_at"].isna() | (d["closed_at"] >= d["opened_at"]),
                name=CLOSED_BEFORE_OPENED,
            )
        )
    return pa.DataFrameSchema(columns, checks=frame_checks)


_PANDERA_RULES = {"not_nullable": "must not be empty", "field_uniqueness": "duplicate value (must be unique)"}


def _rule_problems(spec: TableSpec, path: Path, typed: pd.DataFrame, raw: pd.DataFrame,
                   schema: pa.DataFrameSchema) -> list[tuple[int, str, str]]:
    """(row index, column, rule) for every value-rule failure pandera finds."""
    try:
        schema.validate(typed, lazy=True)
        return []
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    found: list[tuple[int, str, str]] = []
    for case in cases.dropna(subset=["index"]).itertuples(index=False):
        check = str(case.check)
        if check == CLOSED_BEFORE_OPENED:
            if case.column != "closed_at":
                continue
            rule = CLOSED_BEFORE_OPENED
        else:
            rule = _PANDERA_RULES.get(check, check)
        found.append((int(case.index), str(case.column), rule))
    return found


def check_table(spec: TableSpec, path: Path, known_customers: pd.Series | None = None) -> TableCheck:
    """Check one file against its contract, collecting every problem; never raises for bad content."""
    raw = read_raw(path)
    raw = raw.reset_index(drop=True)
    shown = str(path)
    problems: list[Problem] = []
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
    for name in missing:
        problems.append(Problem(file=shown, row=None, column=name, value=None, rule="missing required column"))
    if missing:
        return TableCheck(spec, path, raw.iloc[0:0], raw, problems)

    typed = pd.DataFrame(index=raw.index)
    bad_cells: list[tuple[int, str, str]] = []
    for column in spec.columns:
        if column.name not in raw.columns:
            continue
        parsed, unparsed, rule = _parse_column(column, raw[column.name])
        typed[column.name] = parsed
        bad_cells += [(int(i), column.name, rule) for i in np.flatnonzero(unparsed.to_numpy())]
    already = {(row, name) for row, name, _ in bad_cells}
    schema = _schema(spec, set(typed.columns), known_customers)
    bad_cells += [
        cell for cell in _rule_problems(spec, path, typed, raw, schema) if (cell[0], cell[1]) not in already
    ]
    bad_cells.sort()
    for row, name, rule in bad_cells:
        value = raw.at[row, name]
        problems.append(
            Problem(file=shown, row=row + 1, column=name, value=None if pd.isna(value) else str(value), rule=rule)
        )
    bad_rows = sorted({row for row, _, _ in bad_cells})
    bad_raw = raw.loc[bad_rows].copy()
    bad_raw.insert(0, "row", np.asarray(bad_rows, dtype=int) + 1)
    reasons = pd.Series({row: [] for row in bad_rows}, dtype=object)
    for row, name, rule in bad_cells:
        reasons[row].append(f"{name}: {rule}")
    bad_raw["problems"] = [("; ".join(reasons[row])) for row in bad_rows]
    good = typed.drop(index=bad_rows).reset_index(drop=True)
    return TableCheck(spec, path, good, bad_raw, problems)


def _with_optional_columns(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Add absent optional columns as empty ones, so downstream code can rely on every contract column."""
    for column in spec.columns:
        if column.name not in frame.columns:
            frame[column.name] = pd.Series(pd.NA, index=frame.index, dtype=PANDAS_DTYPES[column.kind])
    return frame[list(spec.column_names)]


def load(data_dir: Path, quarantine_dir: Path | None = None) -> DataSet:
    """Load and check the three tables in `data_dir`.

    Without `quarantine_dir`, any problem raises `ValidationFailed` with all of them. With it, bad rows are
    written there (one CSV per table, with a `problems` column) and the good rows are returned.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise RetainError(f"{data_dir}: data folder not found")
    paths = {}
    for spec in TABLES:
        path = find_table(data_dir, spec.name)
        if path is None:
            raise RetainError(f"{data_dir}: no {spec.name}.parquet or {spec.name}.csv")
        paths[spec.name] = path
    checks: dict[str, TableCheck] = {}
    customers_spec, *event_specs = TABLES
    checks[customers_spec.name] = check_table(customers_spec, paths[customers_spec.name])
    customers_check = checks[customers_spec.name]
    known: pd.Series | None = customers_check.good.get("customer_id", pd.Series(dtype="string")).dropna()
    if any(p.row is None for p in customers_check.problems):
        known = None  # customers is unusable (missing column): no false "unknown customer" for every event
    for spec in event_specs:
        checks[spec.name] = check_table(spec, paths[spec.name], known_customers=known)
    customers, transactions, interactions = (_with_optional_columns(checks[s.name].good, s) for s in TABLES)
    dataset = DataSet(customers, transactions, interactions, checks=checks)
    fatal = any(p.row is None for p in dataset.problems)
    if dataset.problems and (quarantine_dir is None or fatal):
        raise ValidationFailed(dataset.problems)
    if quarantine_dir is not None:
        for name, check in checks.items():
            target = Path(quarantine_dir) / f"{name}.csv"
            if len(check.bad_raw):
                write_table(check.bad_raw, target)
            else:
                target.unlink(missing_ok=True)  # a file left from an earlier run would mislead
    return dataset
