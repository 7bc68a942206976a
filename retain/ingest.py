"""Validated ingest: the engine reads the three tables, checks them against the contract, reports every problem.

Reading, parsing and every rule run as engine queries (`retain.raw`, `retain.rules`), the same on DuckDB and on
Spark; only the problem counts and the first problems of each table come back to Python. The validated tables
stay engine tables on the connection they were read with, so no table passes through pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from pydantic import BaseModel

from retain.contract import TABLES, TableSpec
from retain.engine import connect, is_spark
from retain.errors import RetainError
from retain.location import Location, child, local_dir, scheme
from retain.raw import ROW, read_raw_table
from retain.rules import CLOSED_BEFORE_OPENED, UNKNOWN_CUSTOMER, CheckedTable, checked_table
from retain.storage import TABLE_SUFFIXES, find_table

__all__ = ["CLOSED_BEFORE_OPENED", "MAX_PROBLEMS_LISTED", "UNKNOWN_CUSTOMER", "DataSet", "Problem", "TableCheck",
           "ValidationFailed", "as_table", "check_table", "from_frames", "load"]

MAX_PROBLEMS_LISTED = 10_000  # per table: the report's rows; every problem is still counted per rule


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
    """The outcome of checking one table: the first problems, every problem counted per (column, rule), the
    number of bad rows, and the checked engine table (None when a required column is missing)."""

    spec: TableSpec
    path: str
    problems: list[Problem] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    bad_rows: int = 0
    checked: CheckedTable | None = None

    @property
    def problem_count(self) -> int:
        return sum(self.counts.values()) + sum(1 for p in self.problems if p.row is None)


@dataclass
class DataSet:
    """The three validated tables, typed, as engine tables on `con`, ready for the pipeline."""

    con: BaseBackend
    customers: ir.Table
    transactions: ir.Table
    interactions: ir.Table
    checks: dict[str, TableCheck] = field(default_factory=dict)
    derived: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)
    """What later steps of one process computed from these tables once and reuse (`features.snapshot`)."""

    @property
    def problems(self) -> list[Problem]:
        """The listed problems (at most `MAX_PROBLEMS_LISTED` a table); `problem_count` counts them all."""
        return [problem for check in self.checks.values() for problem in check.problems]

    @property
    def problem_count(self) -> int:
        return sum(check.problem_count for check in self.checks.values())

    @property
    def set_aside(self) -> int:
        return sum(check.bad_rows for check in self.checks.values())

    def table(self, name: str) -> ir.Table:
        return {"customers": self.customers, "transactions": self.transactions,
                "interactions": self.interactions}[name]


class ValidationFailed(RetainError):
    """The input broke the contract; carries the listed problems and the count of all of them per rule."""

    def __init__(self, problems: list[Problem], total: int | None = None,
                 counts: dict[tuple[str, str, str], int] | None = None):
        self.problems = problems
        self.total = len(problems) if total is None else total
        self.counts = counts or {}
        super().__init__(f"{self.total} problem(s) in the input data")


def _counts(checked: CheckedTable) -> tuple[dict[tuple[str, str], int], int]:
    """One pass over the table: how many rows break each rule, and how many rows break any."""
    table = checked.table
    sums = {f"r{i}": rule.broken.cast("int64").sum() for i, rule in enumerate(checked.rules)}
    row = table.aggregate(_bad=checked.any_broken.cast("int64").sum(), **sums).to_pyarrow().to_pylist()[0]
    counts = {(rule.column, rule.rule): int(row[f"r{i}"] or 0) for i, rule in enumerate(checked.rules)}
    return {key: n for key, n in counts.items() if n}, int(row["_bad"] or 0)


def _first_problems(checked: CheckedTable, shown: str, limit: int) -> list[Problem]:
    """The first `limit` problems by row, then column, then rule."""
    table = checked.table
    parts = [table.filter(rule.broken).select(row=table[ROW], column=ibis.literal(rule.column),
                                               value=checked.raw_value(rule.column), rule=ibis.literal(rule.rule))
             for rule in checked.rules]
    listed = ibis.union(*parts).order_by(["row", "column", "rule"]).limit(limit).to_pyarrow().to_pylist()
    return [Problem(file=shown, row=int(p["row"]), column=p["column"], value=p["value"], rule=p["rule"])
            for p in listed]


def check_table(con: BaseBackend, spec: TableSpec, path: Path | str,
                known_customers: ir.Column | None = None) -> TableCheck:
    """Check one file against its contract, counting every problem; never raises for bad content."""
    shown = str(path)
    raw = read_raw_table(con, path)
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
    if missing:
        return TableCheck(spec, shown, [Problem(file=shown, row=None, column=name, value=None,
                                                rule="missing required column") for name in missing])
    checked = checked_table(spec, raw, known_customers)
    counts, bad_rows = _counts(checked)
    problems = _first_problems(checked.only_broken(counts), shown, MAX_PROBLEMS_LISTED) if counts else []
    return TableCheck(spec, shown, problems, counts, bad_rows, checked)


def _good(con: BaseBackend, check: TableCheck) -> ir.Table:
    """The good rows, typed, in file order (sorted: the lookups' joins do not keep it), kept by the engine (a
    temporary table, or Spark's cache)."""
    assert check.checked is not None
    return check.checked.good(filtered=check.bad_rows > 0).order_by(ROW).drop(ROW).cache()


def as_table(frame: pd.DataFrame | ir.Table) -> ir.Table:
    """An engine table as it is; a small pandas frame (tests, notebooks) as an in-memory one."""
    return ibis.memtable(frame) if isinstance(frame, pd.DataFrame) else frame


def from_frames(customers: pd.DataFrame, transactions: pd.DataFrame, interactions: pd.DataFrame,
                con: BaseBackend | None = None) -> DataSet:
    """A DataSet of small frames that already have the contract's types (tests, notebooks), on `con`."""
    con = con or connect()
    tables = [con.create_table(f"_retain_frame_{name}", frame, temp=True, overwrite=True)
              for name, frame in (("customers", customers), ("transactions", transactions),
                                  ("interactions", interactions))]
    return DataSet(con, *tables)


def table_paths(data_dir: Location, con: BaseBackend | None = None) -> dict[str, Location]:
    """The file of each input table in `data_dir`: a local folder, or a URI that Spark (`con`) reads as it is
    (DuckDB reads local files, `file://` URIs included)."""
    if scheme(data_dir) is not None:
        if con is not None and is_spark(con):
            return _spark_table_paths(con, str(data_dir))
        local = local_dir(data_dir)
        if local is None:
            raise RetainError(f"{data_dir}: the duckdb engine reads local files (a folder, or a file:// URI); "
                              f"read {scheme(data_dir)}:// data with --engine spark")
        data_dir = local
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise RetainError(f"{data_dir}: data folder not found")
    paths: dict[str, Location] = {}
    for spec in TABLES:
        path = find_table(data_dir, spec.name)
        if path is None:
            raise RetainError(f"{data_dir}: no {spec.name}.parquet or {spec.name}.csv")
        paths[spec.name] = path
    return paths


def _spark_table_paths(con: BaseBackend, data_dir: str) -> dict[str, Location]:
    """`table_paths` of a URI, the contract's file names looked up through Hadoop's file system."""
    from retain.spark import status

    session = con._session  # type: ignore[attr-defined]
    folder = status(session, data_dir)
    if folder is None or not folder.is_dir:
        raise RetainError(f"{data_dir}: data folder not found")
    paths: dict[str, Location] = {}
    for spec in TABLES:
        candidates = [child(data_dir, spec.name + suffix) for suffix in TABLE_SUFFIXES]
        found = next((uri for uri in candidates if status(session, str(uri)) is not None), None)
        if found is None:
            raise RetainError(f"{data_dir}: no {spec.name}.parquet or {spec.name}.csv")
        paths[spec.name] = found
    return paths


def load(data_dir: Location, quarantine_dir: Path | None = None, con: BaseBackend | None = None) -> DataSet:
    """Read and check the three tables in `data_dir` (a folder, or a URI on Spark: `table_paths`) with the engine
    `con` (default: a new in-memory DuckDB from `retain.engine.connect`).

    Without `quarantine_dir`, any problem raises `ValidationFailed`. With it, bad rows are written there (one
    CSV per table, the raw row with its number and a `problems` column) and the good rows are returned.
    """
    if con is None:
        con = connect()
    paths = table_paths(data_dir, con)
    if is_spark(con):  # the shuffles sized by these files before any query runs
        from retain.spark import fit_shuffle_partitions

        fit_shuffle_partitions(con._session, [str(path) for path in paths.values()])  # type: ignore[attr-defined]
    customers_spec, *event_specs = TABLES
    checks = {customers_spec.name: check_table(con, customers_spec, paths[customers_spec.name])}
    customers_check = checks[customers_spec.name]
    tables: dict[str, ir.Table] = {}
    known: ir.Column | None = None
    if customers_check.checked is not None:  # unusable customers: no false "unknown customer" for every event
        tables[customers_spec.name] = _good(con, customers_check)
        known = tables[customers_spec.name].customer_id
    for spec in event_specs:
        checks[spec.name] = check_table(con, spec, paths[spec.name], known)
    problems = [p for check in checks.values() for p in check.problems]
    fatal = any(check.checked is None for check in checks.values())
    total = sum(check.problem_count for check in checks.values())
    if total and (quarantine_dir is None or fatal):
        counts = {(check.path, column, rule): n for check in checks.values()
                  for (column, rule), n in check.counts.items()}
        raise ValidationFailed(problems, total, counts)
    if quarantine_dir is not None:
        from retain.quarantine import write_quarantine

        for name, check in checks.items():
            write_quarantine(con, check.checked, check.bad_rows, Path(quarantine_dir) / f"{name}.csv")
    for spec in event_specs:
        tables[spec.name] = _good(con, checks[spec.name])
    return DataSet(con, tables["customers"], tables["transactions"], tables["interactions"], checks)
