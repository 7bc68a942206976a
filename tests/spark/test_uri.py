"""Input folders named by a URI go to Spark as they are (Hadoop's file systems resolve them: hdfs://, s3a://, ...),
tried here with file:// URIs in Spark local mode. DuckDB's side is in tests/retain/test_location.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from features.build import FeatureConfig
from features.snapshot import write_snapshot
from retain import ingest
from retain.errors import RetainError
from retain.ingest import ValidationFailed, load
from retain.sample import write_sample
from retain.simulate import generate
from tests.retain.helpers import write_csv_with_a_negative_amount
from tests.spark.conftest import SPARK_TESTS
from tests.spark.parity import columns_differing

pytestmark = SPARK_TESTS

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("uri") / "data[2]"  # a glob character, read literally
    write_sample(generate(150, 7), data_dir)
    return data_dir


def uri(path: Path) -> str:
    return f"file://{path}"


def test_a_uri_is_read_by_spark_without_a_local_listing(folder: Path, spark_con, duck_con,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spark finds the contract's files through Hadoop's file system and reads them itself; the features equal
    DuckDB's from the same folder given as a local path."""
    def no_local_listing(*args: object) -> None:
        raise AssertionError("a URI was listed as a local folder")

    monkeypatch.setattr(ingest, "find_table", no_local_listing)
    data = load(uri(folder), con=spark_con)
    assert [Path(check.path).name for check in data.checks.values()] == [
        "customers.parquet", "transactions.parquet", "interactions.parquet"]
    assert all(check.path.startswith("file:///") for check in data.checks.values())
    spark, _, _ = write_snapshot(data, uri(folder), AS_OF, FeatureConfig(), tmp_path / "spark.parquet",
                                 with_sentiment=False)
    monkeypatch.undo()
    duck, _, _ = write_snapshot(load(folder, con=duck_con), folder, AS_OF, FeatureConfig(), tmp_path / "duck.parquet",
                                with_sentiment=False)
    spark_table = pd.read_parquet(spark).sort_values("customer_id", ignore_index=True)
    duck_table = pd.read_parquet(duck).sort_values("customer_id", ignore_index=True)
    assert len(spark_table) == len(duck_table) > 100
    assert columns_differing(duck_table, spark_table, duck_table.columns) == {}


def test_problems_in_a_file_at_a_uri_name_the_uri(folder: Path, spark_con, tmp_path: Path) -> None:
    bad = write_csv_with_a_negative_amount(folder, tmp_path / "bad")
    with pytest.raises(ValidationFailed) as failure:
        load(uri(bad), con=spark_con)
    [problem] = failure.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        f"{uri(bad)}/transactions.csv", 3, "amount", "-7.5")


def test_a_missing_folder_table_or_empty_file_at_a_uri_is_said_plainly(folder: Path, spark_con,
                                                                        tmp_path: Path) -> None:
    with pytest.raises(RetainError, match="data folder not found"):
        load(uri(tmp_path / "nowhere"), con=spark_con)
    (tmp_path / "customers.parquet").write_bytes((folder / "customers.parquet").read_bytes())
    with pytest.raises(RetainError, match=r"no transactions\.parquet or transactions\.csv"):
        load(uri(tmp_path), con=spark_con)
    (tmp_path / "transactions.csv").write_bytes(b"")
    (tmp_path / "interactions.parquet").write_bytes((folder / "interactions.parquet").read_bytes())
    with pytest.raises(RetainError, match=r"transactions\.csv: cannot be read as CSV: the file is empty"):
        load(uri(tmp_path), con=spark_con)


def test_a_scheme_spark_has_no_file_system_for_is_a_message(spark_con) -> None:
    with pytest.raises(RetainError, match=r"nosuch://host/data: Spark cannot reach it: .*No FileSystem for scheme"):
        load("nosuch://host/data", con=spark_con)
