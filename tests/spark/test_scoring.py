"""Batch scoring on Spark (the scoring core on the executors) gives the DuckDB batch's scores, in a file
`retain serve` loads the same way."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from batch.job import score_all
from batch.store import ScoreBatch, store_dir
from retain.ingest import load
from tests.serving.conftest import AS_OF, Store, store  # noqa: F401  (the session's trained store)
from tests.spark.conftest import SPARK_SETTINGS, SPARK_TESTS
from tests.spark.parity import columns_differing, types

pytestmark = SPARK_TESTS


@pytest.fixture(scope="module")
def spark_batch(store: Store, tmp_path_factory: pytest.TempPathFactory, spark_con: object) -> Path:  # noqa: F811
    """A copy of the store's data scored on Spark with the same champions; its score folder."""
    data_dir = Path(shutil.copytree(store.data_dir, tmp_path_factory.mktemp("spark-score") / "data"))
    shutil.rmtree(store_dir(data_dir))
    settings = store.settings(data_dir=data_dir, **SPARK_SETTINGS)
    score_all(settings, load(data_dir, con=spark_con), data_dir, AS_OF, dt.datetime.now(dt.UTC))
    return store_dir(data_dir)


def test_spark_scores_equal_duckdb_scores(store: Store, spark_batch: Path) -> None:  # noqa: F811
    duck, spark = store.scores(), ScoreBatch.load(spark_batch).frame
    assert len(spark) == len(duck) > 1000
    assert spark["customer_id"].tolist() == duck["customer_id"].tolist()  # same order by value at risk
    assert columns_differing(duck, spark, duck.columns) == {}
    assert "ACME/42" in ScoreBatch.load(spark_batch).position  # awkward ids survive the trip


def test_the_batch_file_has_the_duckdb_schema(store: Store, spark_batch: Path) -> None:  # noqa: F811
    duck_info, spark_info = ScoreBatch.load(store_dir(store.data_dir)).info, ScoreBatch.load(spark_batch).info
    duck_file, spark_file = store_dir(store.data_dir) / duck_info.file, spark_batch / spark_info.file
    assert types(pq.read_schema(spark_file)) == types(pq.read_schema(duck_file))
    assert (spark_info.churn_model_version, spark_info.clv_model_version) == (
        duck_info.churn_model_version, duck_info.clv_model_version)
