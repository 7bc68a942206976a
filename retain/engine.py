"""The one connection factory: which engine runs the ibis expressions (embedded DuckDB by default, or Spark),
and the few places where engines differ in moving data in and out.

Feature definitions are engine-neutral ibis; everything engine-specific about connecting, registering frames
and writing results lives here (and Spark's session in `retain.spark`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, Field

from retain.errors import RetainError
from retain.settings import DuckdbMemory, Settings
from retain.storage import atomic_write

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


class EngineConfig(BaseModel):
    """Which engine; for DuckDB its memory limit, for Spark the master URL and extra configuration (taken from
    `Settings`)."""

    model_config = ConfigDict(frozen=True)

    engine: Engine = "duckdb"
    duckdb_memory_limit: DuckdbMemory | None = None
    duckdb_threads: int | None = Field(default=None, gt=0)
    spark_master: str = "local[*]"
    spark_conf: Mapping[str, str] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineConfig:
        return cls(engine=settings.engine, duckdb_memory_limit=settings.duckdb_memory_limit,
                   duckdb_threads=settings.duckdb_threads, spark_master=settings.spark_master,
                   spark_conf=settings.spark_conf)


def connect(config: Settings | EngineConfig | None = None, threads: int | None = None) -> BaseBackend:
    """An ibis connection to the configured engine: an in-memory DuckDB (`duckdb_connection`; `threads`, when
    given, instead of the configured threads), or the process's Spark session (`retain.spark`)."""
    if config is None:
        config = EngineConfig()
    elif not isinstance(config, EngineConfig):
        config = EngineConfig.from_settings(config)
    if config.engine == "spark":
        from retain import spark

        session = spark.session(config.spark_master, dict(config.spark_conf))  # says what is missing, first
        return ibis.pyspark.connect(session)
    return duckdb_connection(config.duckdb_memory_limit, threads or config.duckdb_threads)


def duckdb_connection(memory_limit: str | None = None, threads: int | None = None) -> BaseBackend:
    """An in-memory DuckDB that works out of core: past `memory_limit` (DuckDB's default: 80% of RAM) it spills
    to a folder of its own under the system's temporary folder, removed with the connection. Without one,
    DuckDB would spill into `./.tmp` of whatever the current directory is."""
    spill = tempfile.mkdtemp(prefix="retain-duckdb-spill-")
    settings = {"temp_directory": spill, **({"memory_limit": memory_limit} if memory_limit else {}),
                **({"threads": int(threads)} if threads else {})}
    try:
        con = ibis.duckdb.connect(**settings)
    except Exception as error:  # a value the settings' check let through but DuckDB refuses
        shutil.rmtree(spill, ignore_errors=True)
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RetainError(f"DuckDB refused its settings {settings}: {detail}") from None
    weakref.finalize(con, shutil.rmtree, spill, ignore_errors=True)
    return con


def on_disk(con: BaseBackend, table: ir.Table) -> ir.Table:
    """DuckDB: `table` computed once into a Parquet file in the connection's spill folder (removed with the
    connection), read back from there. Unlike a temporary table it holds no memory: a feature family kept this
    way leaves the whole limit to the query that joins them (temporary tables ran a 64MB limit out)."""
    path = spill_file(con)
    con.to_parquet(table, path)
    return con.read_parquet(path)


def spill_file(con: BaseBackend) -> Path:
    """A new empty Parquet file in DuckDB's spill folder (the connection's own: `duckdb_connection`, removed
    with it)."""
    folder = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]  # type: ignore[attr-defined]
    handle, name = tempfile.mkstemp(suffix=".parquet", dir=folder)
    os.close(handle)
    return Path(name)


def is_spark(con: BaseBackend) -> bool:
    return con.name == "pyspark"


def register_frame(con: BaseBackend, name: str, frame: pd.DataFrame) -> ir.Table:
    """A pandas frame as the engine table `name`: a DuckDB table, or on Spark a temporary view over the frame
    (through Arrow; never a managed table, which Spark would write into its warehouse folder)."""
    if is_spark(con):
        return con.create_view(name, ibis.memtable(frame), overwrite=True)
    return con.create_table(name, frame, overwrite=True)


def spark_frame(con: BaseBackend, table: ir.Table) -> SparkFrame:
    """The Spark DataFrame an ibis expression compiles to (for what ibis does not cover: mapInPandas)."""
    return con._session.sql(con.compile(table))  # type: ignore[attr-defined]


def to_arrow(con: BaseBackend, table: ir.Table) -> pa.Table:
    """Execute into an Arrow table of the expression's own schema. On Spark through `DataFrame.toArrow`, not
    ibis's round trip through pandas."""
    if not is_spark(con):
        return con.to_pyarrow(table)
    result = spark_frame(con, table).toArrow()
    return result.cast(table.schema().to_pyarrow())


def to_arrow_batches(con: BaseBackend, table: ir.Table, rows: int) -> Iterator[pa.RecordBatch]:
    """Execute on DuckDB and stream the result in record batches of at most `rows` rows, of the expression's
    schema. Through ibis's DuckDB relation: its `to_pyarrow_batches` calls a cursor method DuckDB 2 removed."""
    schema = table.schema().to_pyarrow()
    for batch in con._to_duckdb_relation(table).to_arrow_reader(rows):  # type: ignore[attr-defined]
        yield batch.cast(schema)


def to_frame(con: BaseBackend, table: ir.Table) -> pd.DataFrame:
    """Execute into pandas through Arrow: ibis's own `to_pandas` converts column by column, ~3 s more CPU on a
    million feature rows (a date column comes back as `datetime.date` objects instead of datetime64)."""
    return to_arrow(con, table).to_pandas()


def write_parquet(con: BaseBackend, table: ir.Table, path: Path) -> Path:
    """Execute `table` into one Parquet file, atomically. DuckDB writes it itself; Spark, which writes folders
    of part files, hands the (small: one row per customer) result to the driver, which writes the file with
    the schema DuckDB's writer gives (same column types and names)."""
    if not is_spark(con):
        return atomic_write(Path(path), lambda tmp: con.to_parquet(table, tmp))
    result = to_arrow(con, table)
    return atomic_write(Path(path), lambda tmp: pq.write_table(result, tmp))
