"""Embedded DuckDB under a memory limit: the setting, its checks, and out-of-core work on data whose pandas
footprint is well above the limit, with the same result as without a limit."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from features.build import FeatureConfig
from features.snapshot import write_snapshot
from retain.engine import EngineConfig, connect
from retain.ingest import load
from retain.sample import write_sample
from retain.settings import Settings, memory_bytes
from retain.simulate import generate
from tests.spark.parity import columns_differing

LIMIT = "64MB"
AS_OF = dt.date(2025, 6, 30)


def setting(con: object, name: str) -> str:
    return str(con.raw_sql(f"SELECT current_setting('{name}')").fetchall()[0][0])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("size", "expected"), [("1GB", 10**9), ("512MiB", 512 * 2**20), (" 1.5 gb ", 15 * 10**8),
                                                ("64mb", 64 * 10**6)])
def test_memory_sizes_read_as_duckdb_reads_them(size: str, expected: int) -> None:
    assert memory_bytes(size) == expected


@pytest.mark.parametrize(("value", "message"), [("lots", "not a memory size"), ("80%", "not a memory size"),
                                                ("1024", "not a memory size"), ("-1GB", "not a memory size"),
                                                ("1KB", "too small")])
def test_a_bad_memory_limit_is_refused_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(duckdb_memory_limit=value)
    with pytest.raises(ValidationError, match=message):
        EngineConfig(duckdb_memory_limit=value)


def test_the_connection_applies_the_limit_and_spills_to_a_folder_of_its_own(tmp_path: Path) -> None:
    con = connect(Settings(home=tmp_path, duckdb_memory_limit="1GB", duckdb_threads=1))
    spill = Path(setting(con, "temp_directory"))
    assert setting(con, "memory_limit") == "953.6 MiB"  # 10^9 bytes, as DuckDB shows it
    assert setting(con, "threads") == "1"
    assert spill.is_dir() and spill.name.startswith("retain-duckdb-spill-") and not spill.is_relative_to(Path.cwd())
    del con
    gc.collect()
    assert not spill.exists()


def test_without_settings_duckdb_keeps_its_defaults() -> None:
    con = connect()
    assert setting(con, "temp_directory") != ".tmp"  # never the current directory's ./.tmp
    assert memory_bytes(setting(con, "memory_limit").replace(" ", "")) > memory_bytes(LIMIT)


def test_validate_and_features_run_out_of_core_and_equal_an_unlimited_run(tmp_path: Path) -> None:
    """60,000 simulated customers (~98 MB as pandas frames) through validation and the feature table under a
    64 MB limit. One thread: each DuckDB thread holds its own buffers. The sentiment family is left out: VADER
    runs in Python, outside the engine's memory."""
    sample = generate(60_000, 20251201)
    footprint = sum(int(frame.memory_usage(deep=True).sum())
                    for frame in (sample.customers, sample.transactions, sample.interactions))
    assert footprint > 1.4 * memory_bytes(LIMIT)
    write_sample(sample, tmp_path / "data")
    del sample

    def features(config: EngineConfig, out: str) -> tuple[pd.DataFrame, int]:
        con = connect(config)
        data = load(tmp_path / "data", con=con)
        spilled = int(con.raw_sql("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()").fetchall()[0][0])
        path, _, _ = write_snapshot(data, tmp_path / "data", AS_OF, FeatureConfig(), tmp_path / out,
                                    with_sentiment=False)
        return pd.read_parquet(path).sort_values("customer_id", ignore_index=True), spilled

    limited, spilled = features(EngineConfig(duckdb_memory_limit=LIMIT, duckdb_threads=1), "limited.parquet")
    unlimited, _ = features(EngineConfig(), "unlimited.parquet")
    assert spilled > 0  # the validated tables did not fit under the limit: part of them went to disk
    assert len(limited) == len(unlimited) > 40_000
    assert list(limited.columns) == list(unlimited.columns)
    assert columns_differing(unlimited, limited, unlimited.columns) == {}
