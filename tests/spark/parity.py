"""Comparing what the two engines wrote: same rows, same columns and types, floats within 1e-9 relative."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

RTOL = 1e-9


def columns_differing(duck: pd.DataFrame, spark: pd.DataFrame, columns: Iterable[str]) -> dict[str, str]:
    """{column: what differs} over `columns` of two frames sorted alike; empty when they agree."""
    differing = {}
    for column in columns:
        a, b = duck[column], spark[column]
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            x, y = a.to_numpy(float, na_value=np.nan), b.to_numpy(float, na_value=np.nan)
            same = np.isnan(x) == np.isnan(y)
            close = np.isclose(x, y, rtol=RTOL, atol=0, equal_nan=True)
            if not (same.all() and close.all()):
                worst = int(np.flatnonzero(~(same & close))[0])
                differing[column] = f"row {worst}: {x[worst]!r} vs {y[worst]!r}"
        elif not a.astype(object).where(a.notna(), None).equals(b.astype(object).where(b.notna(), None)):
            differing[column] = f"{a.head(3).tolist()} vs {b.head(3).tolist()}"
    return differing


def types(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """Column names and types. Not nullability: DuckDB marks a column REQUIRED when its statistics show no
    null in this data, which no reader of the file relies on."""
    return [(field.name, field.type) for field in schema]
