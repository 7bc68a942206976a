"""Sums and means of fractional values that come out the same on every run and on every engine.

A parallel engine adds floating-point values in whatever order its threads finish, so a sum of spend or a mean
of handle times can differ in the last bits from one run to the next (measured: `monetary_value` and
`handle_seconds_mean_*` changed between identical DuckDB runs); a model trained on them is then not
reproducible, since a value on a split point may fall either side. Summed as decimals (exact, in any order) and
divided once, they are. Integer-valued and 0/1 columns do not need this: their float sums are exact.
"""

from __future__ import annotations

import ibis.expr.types as ir

EXACT = "decimal(38, 15)"  # 23 integer digits; inputs rounded to 1e-15, below float64's resolution of a score


def exact_sum(values: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """The sum as float64, NULL when no value is summed."""
    return values.cast(EXACT).sum(where=where).cast("float64")  # type: ignore[return-value]


def exact_mean(values: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """The mean of the non-missing values as float64, NULL when there are none."""
    count = values.count(where=where)
    return exact_sum(values, where) / count.nullif(0).cast("float64")  # type: ignore[return-value]
