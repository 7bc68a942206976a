"""The contract's rules as engine queries (ibis), written once for every engine.

`checked_table` parses each column of a raw table to its contract type and lists every rule as a boolean
expression over the same rows: a cell that does not parse, an empty required value, a value out of range or
not allowed, a duplicate id, an unknown customer, a case closed before it opened. Nothing here runs a query;
`retain.ingest` decides what to execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from retain.contract import ColumnSpec, TableSpec
from retain.raw import ROW

TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")
CLOSED_BEFORE_OPENED = "closed_at must not be before opened_at"
UNKNOWN_CUSTOMER = "customer_id must exist in customers (as a valid row)"
MUST_NOT_BE_EMPTY = "must not be empty"
DUPLICATE = "duplicate value (must be unique)"
RAW_PREFIX = "_raw_"
BAD_PREFIX = "_unparsed_"
DUPLICATE_PREFIX = "_duplicate_"
KNOWN_PREFIX = "_known_"
INT64_LIMIT = 2.0**63

IBIS_TYPES: dict[str, dt.DataType] = {
    "string": dt.string, "date": dt.Timestamp(), "datetime": dt.Timestamp(), "float": dt.float64,
    "int": dt.int64, "bool": dt.boolean,
}


@dataclass(frozen=True)
class Rule:
    """One rule on one column: `broken` is true on the rows that break it."""

    column: str
    rule: str
    broken: ir.BooleanValue


@dataclass(frozen=True)
class CheckedTable:
    """A raw table with its typed columns (contract names), its raw cells (`RAW_PREFIX` + name) and rules."""

    table: ir.Table
    spec: TableSpec
    present: tuple[str, ...]
    rules: tuple[Rule, ...]

    @property
    def raw_columns(self) -> list[str]:
        """The file's own columns, in its order."""
        return [name[len(RAW_PREFIX):] for name in self.table.columns if name.startswith(RAW_PREFIX)]

    @property
    def any_broken(self) -> ir.BooleanValue:
        return ibis.or_(*(r.broken for r in self.rules)) if self.rules else ibis.literal(False)

    def only_broken(self, counts: Mapping[tuple[str, str], int]) -> CheckedTable:
        """The same table with only the rules that `counts` (per column and rule) says some row breaks."""
        return replace(self, rules=tuple(r for r in self.rules if counts.get((r.column, r.rule))))

    def good(self, filtered: bool = True) -> ir.Table:
        """The rows that break no rule (every row if not `filtered`), with every contract column (absent
        optional ones empty), typed."""
        rows = self.table.filter(~self.any_broken) if filtered and self.rules else self.table
        return rows.select(ROW, **{c.name: (rows[c.name] if c.name in self.present
                                            else ibis.null(IBIS_TYPES[c.kind])) for c in self.spec.columns})

    def raw_value(self, column: str) -> ir.StringValue:
        return self.table[RAW_PREFIX + column].cast("string")

    def bad_rows(self) -> ir.Table:
        """The rows that break a rule as they were in the file, with their row number first and the broken
        rules (`column: rule; ...`) last."""
        rows = self.table.filter(self.any_broken)
        reasons = [ibis.ifelse(r.broken, f"{r.column}: {r.rule}", ibis.null("string")) for r in self.rules]
        return rows.select(row=rows[ROW], **{name: rows[RAW_PREFIX + name] for name in self.raw_columns},
                           problems=ibis.literal("; ").join(reasons)).order_by("row")


def _is_text(value: ir.Value) -> bool:
    return value.type().is_string()


def _strip(text: ir.StringValue) -> ir.StringValue:
    """Without leading and trailing white space (ibis's `strip` on Spark also strips the letters v and f)."""
    return text.re_replace(r"^\s+|\s+$", "")


def _number(value: ir.Value) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """(the value as float64, null where it is no finite number; true where a present cell failed)."""
    if value.type().is_boolean():
        value = value.cast("int64")
    number = value.try_cast("float64") if _is_text(value) else value.cast("float64")
    finite = number.notnull() & ~number.isnan() & ~number.isinf()
    present = value.notnull() if _is_text(value) else value.notnull() & ~number.isnan()
    return ibis.ifelse(finite, number, ibis.null("float64")), present & ~finite


def _parse(column: ColumnSpec, value: ir.Value) -> tuple[ir.Value, ir.BooleanValue | None, str]:
    """(typed value, where a present cell did not parse, the rule text) for one column."""
    kind = column.kind
    if kind in ("date", "datetime"):
        kind_type = value.type()
        if kind_type.is_timestamp():
            parsed = value.cast(dt.Timestamp()) if kind_type.timezone else value
            bad = None
        elif kind_type.is_date():
            parsed, bad = value.cast(dt.Timestamp()), None
        else:
            text = value.cast("string")
            parsed = text.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())
            bad = text.notnull() & parsed.isnull()
        if kind == "date":
            parsed = parsed.truncate("D")
        rule = "not a valid date (YYYY-MM-DD)" if kind == "date" else "not a valid timestamp (ISO 8601)"
        return parsed, bad, rule
    if kind == "float":
        number, bad = _number(value)
        return number, bad, "not a number"
    if kind == "int":
        number, bad = _number(value)
        fractional = number.notnull() & ((number.abs() >= INT64_LIMIT) | (number % 1.0 != 0))
        whole = ibis.ifelse(fractional, ibis.null("float64"), number)
        return whole.cast("int64"), bad | fractional, "not a whole number"
    if kind == "bool":
        if value.type().is_boolean():
            return value, None, ""
        words = _strip(value.cast("string")).lower()
        parsed = ibis.cases((words.isin(TRUE_WORDS), True), (words.isin(FALSE_WORDS), False),
                            else_=ibis.null("boolean"))
        return parsed, value.notnull() & parsed.isnull(), "not a boolean (true/false)"
    text = value if _is_text(value) else value.cast("string")
    if column.allowed:
        text = _strip(text).lower()  # "Phone " is the phone channel
    return text, None, ""


def _value_rules(column: ColumnSpec, value: ir.Value, unknown: ir.BooleanValue | None,
                 duplicate: ir.BooleanValue | None) -> list[tuple[str, ir.BooleanValue]]:
    """The rules on a parsed, present value (a missing or unparsed one breaks none of them); `unknown` and
    `duplicate` are the lookups' flags (`_flagged`)."""
    rules: list[tuple[str, ir.BooleanValue]] = []
    if column.ge is not None:
        rules.append((f"must be >= {column.ge:g}", value < column.ge))
    if column.le is not None:
        rules.append((f"must be <= {column.le:g}", value > column.le))
    if column.length is not None:
        low, high = column.length
        rules.append((f"must be {column.length_rule} long", ~value.length().between(low, high)))
    if column.allowed:
        rules.append(("must be one of " + "|".join(column.allowed), ~value.isin(column.allowed)))
    if duplicate is not None:
        rules.append((DUPLICATE, duplicate))
    if column.references_customers and unknown is not None:
        rules.append((UNKNOWN_CUSTOMER, unknown))
    return [(rule, value.notnull() & broken.fill_null(False)) for rule, broken in rules]


def _flagged(table: ir.Table, column: str, keys: ir.Column, flag: str) -> ir.Table:
    """`table` with a boolean column `flag`: is the row's `column` among `keys`? A left join on the key, not
    `isin`: Spark runs an IN subquery outside a filter as a nested-loop join (every event against every
    customer: hours at 100,000 customers), a join on equal keys as a hash join on either engine."""
    key = f"{flag}_key"
    found = keys.as_table().select(**{key: keys.as_table()[0]}).distinct().mutate(**{flag: ibis.literal(True)})
    joined = table.left_join(found, table[column] == found[key])
    return joined.mutate(**{flag: joined[flag].fill_null(False)}).drop(key)


def checked_table(spec: TableSpec, raw: ir.Table, known_customers: ir.Column | None = None) -> CheckedTable:
    """Parse `raw` (a table with `ROW` and some of the contract's columns) and list every rule, sorted by column
    name and rule, as the report orders the problems of one row."""
    present = tuple(c.name for c in spec.columns if c.name in raw.columns)
    parsed: dict[str, ir.Value] = {}
    unparsed: dict[str, ir.BooleanValue] = {}
    parse_rules: dict[str, str] = {}
    for name in present:
        value, bad, rule = _parse(spec.column(name), raw[name])
        parsed[name] = value.cast(IBIS_TYPES[spec.column(name).kind])
        if bad is not None:
            unparsed[BAD_PREFIX + name] = bad.fill_null(False)
            parse_rules[name] = rule
    cells = {RAW_PREFIX + name: raw[name] for name in raw.columns if name != ROW}
    table = raw.select(ROW, **cells, **parsed, **unparsed)
    for name in present:
        if spec.column(name).unique:
            counts = table.group_by(name).aggregate(_n=table.count())
            table = _flagged(table, name, counts.filter(counts._n > 1)[name], DUPLICATE_PREFIX + name)
        if spec.column(name).references_customers and known_customers is not None:
            table = _flagged(table, name, known_customers, KNOWN_PREFIX + name)
    rules: list[Rule] = []
    for name in present:
        column = spec.column(name)
        value = table[name]
        if name in parse_rules:
            rules.append(Rule(name, parse_rules[name], table[BAD_PREFIX + name]))
        if not column.nullable:
            empty = value.isnull() & ~table[BAD_PREFIX + name] if name in parse_rules else value.isnull()
            rules.append(Rule(name, MUST_NOT_BE_EMPTY, empty))
        duplicate = table[DUPLICATE_PREFIX + name] if column.unique else None
        unknown = (~table[KNOWN_PREFIX + name]) if KNOWN_PREFIX + name in table.columns else None
        rules += [Rule(name, rule, broken) for rule, broken in _value_rules(column, value, unknown, duplicate)]
    if {"opened_at", "closed_at"} <= set(present):
        rules.append(Rule("closed_at", CLOSED_BEFORE_OPENED,
                          (table.closed_at < table.opened_at).fill_null(False)))
    rules.sort(key=lambda r: (r.column, r.rule))
    return CheckedTable(table, spec, present, tuple(rules))
