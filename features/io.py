"""The only disk and engine access of the feature pipeline: loading validated tables into the engine, writing
the feature table atomically. Connections come from the one factory, `retain.engine.connect`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from retain import engine
from retain.ingest import DataSet

connect = engine.connect
to_frame = engine.to_frame


def register(con: BaseBackend, data: DataSet) -> tuple[ir.Table, ir.Table, ir.Table]:
    """The validated tables (customers, transactions, interactions): engine tables already, on the connection
    ingest read them with, which must be `con`."""
    if data.con is not con:
        raise ValueError("the data set was read with another engine connection: pass data.con")
    return data.customers, data.transactions, data.interactions


def register_frame(con: BaseBackend, name: str, frame: pd.DataFrame) -> ir.Table:
    return engine.register_frame(con, name, frame)


def default_output(data_dir: Path, as_of: dt.date) -> Path:
    return Path(data_dir) / "features" / f"features_{as_of.isoformat()}.parquet"


def write_features(con: BaseBackend, table: ir.Table, path: Path) -> Path:
    """Execute the feature expression into one Parquet file, atomically (DuckDB straight from the engine;
    Spark through its driver, see `retain.engine.write_parquet`)."""
    return engine.write_parquet(con, table, path)
