"""Every feature family, and the whole feature table as written, equal on Spark and on DuckDB: simulated data
(awkward ids, missing texts and survey answers, open cases) and CDNOW."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.build import FeatureConfig, catalogue
from features.snapshot import write_snapshot
from retain.cdnow import cdnow_tables
from retain.engine import EngineConfig
from retain.ingest import load
from retain.sample import write_sample
from retain.simulate import generate
from tests.spark.conftest import SPARK_TESTS
from tests.spark.parity import columns_differing, types

pytestmark = SPARK_TESTS

AS_OF = dt.date(2025, 6, 30)
CDNOW_AS_OF = dt.date(1997, 9, 30)
CONFIG = FeatureConfig()
FAMILIES = sorted({feature.family for feature in catalogue(CONFIG)})


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, spark_con: object) -> dict[str, object]:
    """The simulated data's features written by each engine, each with its own sentiment cache, then DuckDB
    again over the cache Spark wrote."""
    base = tmp_path_factory.mktemp("spark-features")
    data_dir = base / "data[2]"  # glob characters in a path Spark reads
    write_sample(generate(400, 20251201), data_dir)
    data = load(data_dir)
    duck = write_snapshot(data, data_dir, AS_OF, CONFIG, base / "duck.parquet")
    shutil.rmtree(data_dir / ".retain-cache")
    spark = write_snapshot(load(data_dir, con=spark_con), data_dir, AS_OF, CONFIG, base / "spark.parquet")
    # a later run reads the files anew (one data set's sources are prepared once: `DataSet.derived`)
    again = write_snapshot(load(data_dir), data_dir, AS_OF, CONFIG, base / "again.parquet")
    return {"duck": duck, "spark": spark, "again": again, "data": data}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("customer_id", ignore_index=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_is_equal(written: dict, family: str) -> None:
    duck, spark = _read(written["duck"][0]), _read(written["spark"][0])
    columns = [f.name for f in catalogue(CONFIG) if f.family == family]
    assert columns
    assert duck["customer_id"].tolist() == spark["customer_id"].tolist()
    assert columns_differing(duck, spark, columns) == {}


def test_the_written_table_is_the_same_file(written: dict) -> None:
    duck_path, duck_sources, duck_rows = written["duck"]
    spark_path, spark_sources, spark_rows = written["spark"]
    assert types(pq.read_schema(spark_path)) == types(pq.read_schema(duck_path))
    assert spark_rows == duck_rows == len(_read(duck_path)) > 0
    duck, spark = _read(duck_path), _read(spark_path)
    assert columns_differing(duck, spark, duck.columns) == {}
    assert spark_sources.texts_scored == duck_sources.texts_scored > 0  # VADER ran on the executors


def test_spark_extends_the_cache_the_embedded_path_reads(written: dict) -> None:
    """Spark wrote the cache from scratch; DuckDB then scored nothing (ids and text hashes match, missing
    texts included) and computed the same table."""
    _, spark_sources, _ = written["spark"]
    again_path, again_sources, _ = written["again"]
    assert spark_sources.texts_from_cache == 0
    assert again_sources.texts_scored == 0
    assert again_sources.texts_from_cache == int(written["data"].interactions.count().execute())
    assert columns_differing(_read(written["duck"][0]), _read(again_path), _read(again_path).columns) == {}


def test_cdnow_is_equal(tmp_path: Path, spark_con: object) -> None:
    write_sample(cdnow_tables(), tmp_path)
    data = load(tmp_path)
    duck = write_snapshot(data, tmp_path, CDNOW_AS_OF, CONFIG, tmp_path / "duck.parquet", with_sentiment=False)
    spark = write_snapshot(load(tmp_path, con=spark_con), tmp_path, CDNOW_AS_OF, CONFIG, tmp_path / "spark.parquet",
                           with_sentiment=False)
    assert duck[2] == spark[2] > 20_000
    assert types(pq.read_schema(spark[0])) == types(pq.read_schema(duck[0]))
    assert columns_differing(_read(duck[0]), _read(spark[0]), _read(duck[0]).columns) == {}


def test_the_default_engine_is_duckdb() -> None:
    assert EngineConfig().engine == "duckdb"
