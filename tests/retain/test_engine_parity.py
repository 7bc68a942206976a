"""Validation is written once (ibis) and reports the same problems on DuckDB and on Spark for the same files:
the same rows, columns, values and rules, the same counts per rule, the same quarantined rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retain.errors import RetainError
from retain.ingest import ValidationFailed, load
from tests.retain.conftest import WriteTables
from tests.spark.conftest import SPARK_TESTS

pytestmark = SPARK_TESTS

Located = tuple[str, int | None, str | None, str | None, str]


def _report(data_dir: Path, con: object) -> tuple[list[Located], int, dict]:
    with pytest.raises(ValidationFailed) as failure:
        load(data_dir, con=con)  # type: ignore[arg-type]
    problems = [(Path(p.file).name, p.row, p.column, p.value, p.rule) for p in failure.value.problems]
    counts = {(Path(file).name, column, rule): n for (file, column, rule), n in failure.value.counts.items()}
    return problems, failure.value.total, counts


def _bad_csv(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every rule broken at least once in the hand-made CSV cells."""
    customers, transactions, interactions = frames["customers"], frames["transactions"], frames["interactions"]
    customers.loc[4, "churned_at"] = "2024-02-30"  # not a date
    customers.loc[3, "customer_id"] = "C3"  # duplicate id: both rows, and their events become unknown
    transactions.loc[0, "amount"] = "12,50"  # not a number
    transactions.loc[1, "amount"] = "-1"  # out of range
    transactions.loc[2, "customer_id"] = "C99"  # unknown customer
    transactions.loc[4, "order_id"] = "O1"  # duplicate order id
    interactions.loc[0, "closed_at"] = "2024-01-02T09:59:59"  # closed before opened
    interactions.loc[1, "ces"] = "8"  # out of range
    interactions.loc[1, "transfers"] = "1.5"  # not a whole number
    interactions.loc[2, "channel"] = "fax"  # not allowed
    interactions.loc[2, "resolved"] = "maybe"  # not a boolean
    interactions.loc[3, "handle_seconds"] = None  # empty required value
    interactions.loc[3, "opened_at"] = "yesterday"  # not a timestamp
    return frames


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_files_get_the_same_report_on_both_engines(spark_con, write_data: WriteTables, frames, fmt: str,
                                                       typed_frames) -> None:
    if fmt == "csv":
        data_dir = write_data(_bad_csv(frames))
    else:
        typed_frames["transactions"].loc[2, "amount"] = -4.5
        typed_frames["transactions"].loc[0, "customer_id"] = "nobody"
        interactions = typed_frames["interactions"]
        interactions.loc[1, "ces"] = 8
        interactions.loc[2, "interaction_id"] = "I2"
        interactions.loc[0, "closed_at"] = interactions.loc[0, "opened_at"] - pd.Timedelta(seconds=1)
        typed_frames["customers"].loc[4, "customer_id"] = ""
        data_dir = write_data(typed_frames, "parquet")

    on_duckdb = _report(data_dir, None)
    on_spark = _report(data_dir, spark_con)

    assert on_spark == on_duckdb
    assert on_duckdb[1] >= (13 if fmt == "csv" else 6)


def test_quarantine_writes_the_same_rows_on_both_engines(spark_con, write_data: WriteTables, frames,
                                                         tmp_path: Path) -> None:
    data_dir = write_data(_bad_csv(frames))

    duck = load(data_dir, tmp_path / "duckdb")
    spark = load(data_dir, tmp_path / "spark", con=spark_con)

    for name in ("customers", "transactions", "interactions"):
        read = {engine: pd.read_csv(tmp_path / engine / f"{name}.csv", dtype=str, keep_default_na=False)
                for engine in ("duckdb", "spark")}
        pd.testing.assert_frame_equal(read["spark"], read["duckdb"])
        good = {engine: data.table(name).to_pyarrow().to_pandas() for engine, data in
                (("duckdb", duck), ("spark", spark))}
        pd.testing.assert_frame_equal(good["spark"], good["duckdb"], check_dtype=False)
    assert spark.set_aside == duck.set_aside > 0


def test_missing_column_is_reported_alike(spark_con, write_data: WriteTables, frames) -> None:
    frames["interactions"] = frames["interactions"].drop(columns=["channel"])
    frames["customers"] = frames["customers"].drop(columns=["signup_date"])
    data_dir = write_data(frames)

    assert _report(data_dir, spark_con) == _report(data_dir, None)


def test_header_only_files_load_alike(spark_con, write_data: WriteTables, frames) -> None:
    empty = {**frames, "transactions": frames["transactions"].iloc[:0],
             "interactions": frames["interactions"].iloc[:0]}
    data_dir = write_data(empty)

    counts = [[load(data_dir, con=con).table(name).count().execute() for name in ("customers", "transactions",
                                                                                "interactions")]
              for con in (None, spark_con)]
    assert counts[0] == counts[1] == [5, 0, 0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_file_is_refused_alike(spark_con, good_csv_dir: Path, fmt: str) -> None:
    (good_csv_dir / "transactions.csv").unlink()
    (good_csv_dir / f"transactions.{fmt}").write_bytes(b"")
    messages = []
    for con in (None, spark_con):
        with pytest.raises(RetainError, match=f"transactions.{fmt}: cannot be read as {fmt.upper()}") as refused:
            load(good_csv_dir, con=con)
        messages.append(str(refused.value).split(":")[0])
    assert messages[0] == messages[1]


def test_empty_csv_cells_read_the_same_on_both_engines(spark_con, tmp_path: Path) -> None:
    """A quoted empty cell and an empty cell are both missing on either engine; a space stays a space."""
    from retain.engine import connect
    from retain.raw import read_raw_table

    path = tmp_path / "cells.csv"
    path.write_text('a,b,c\n"",x,\n,"",y\n" ",z,""\n')
    expected = [{"_row": 1, "a": None, "b": "x", "c": None}, {"_row": 2, "a": None, "b": None, "c": "y"},
                {"_row": 3, "a": " ", "b": "z", "c": None}]
    for con in (connect(), spark_con):
        assert read_raw_table(con, path).order_by("_row").to_pyarrow().to_pylist() == expected


def test_a_bare_carriage_return_in_a_quoted_cell_reads_the_same_on_both_engines(spark_con, tmp_path: Path) -> None:
    """DuckDB reads such a file through Arrow (`retain.raw`); Spark's reader takes it as it is."""
    from retain.engine import connect
    from retain.raw import read_raw_table

    path = tmp_path / "cells.csv"
    path.write_bytes(b'id,text\n"1","first\rsecond"\n"2","\r"\n"3",""\n"4","ends\r"\n')
    expected = [{"_row": 1, "id": "1", "text": "first\rsecond"}, {"_row": 2, "id": "2", "text": "\r"},
                {"_row": 3, "id": "3", "text": None}, {"_row": 4, "id": "4", "text": "ends\r"}]
    for con in (connect(), spark_con):
        assert read_raw_table(con, path).order_by("_row").to_pyarrow().to_pylist() == expected
