"""Input locations: a local folder is a Path, a URI stays the string it is; DuckDB reads local files (file://
URIs included) and says so for any other scheme. Spark's side is in tests/spark/test_uri.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from retain.errors import RetainError
from retain.ingest import load
from retain.location import child, local_dir, output_dir, parse, scheme
from retain.sample import write_sample


@pytest.mark.parametrize(("text", "expected"), [
    ("hdfs://namenode:8020/data", "hdfs://namenode:8020/data"),  # a Path would fold it to hdfs:/namenode...
    ("s3a://bucket/retail/2025", "s3a://bucket/retail/2025"),
    ("file:///srv/data", "file:///srv/data"),
    ("data/demo", Path("data/demo")),
    ("/srv/odd:name//x", Path("/srv/odd:name//x")),  # a colon is no scheme without ://
])
def test_a_uri_stays_a_string_and_a_path_becomes_a_path(text: str, expected: Path | str) -> None:
    assert parse(text) == expected and type(parse(text)) is type(expected)


def test_local_folders_of_locations() -> None:
    assert local_dir(Path("/srv/data")) == Path("/srv/data")
    assert local_dir("file:///srv/my%20data") == Path("/srv/my data")
    assert local_dir("hdfs://nn/data") is None and scheme("HDFS://nn/data") == "hdfs"
    assert child("s3a://bucket/data/", "customers.csv") == "s3a://bucket/data/customers.csv"
    assert child(Path("/srv"), "customers.csv") == Path("/srv/customers.csv")
    with pytest.raises(RetainError, match="hdfs://nn/data is not a local folder, and retain writes the score"):
        output_dir("hdfs://nn/data", "the score batch")


@pytest.mark.parametrize("location", ["hdfs://namenode:8020/data", "s3a://bucket/data", "gs://bucket/data"])
def test_duckdb_reads_local_files_and_says_so(location: str) -> None:
    scheme_name = location.split(":")[0]
    with pytest.raises(RetainError, match=f"{location}: the duckdb engine reads local files .* read "
                                          f"{scheme_name}:// data with --engine spark"):
        load(location)


def test_duckdb_reads_a_file_uri_as_its_local_folder(small_sample, tmp_path: Path) -> None:
    folder = tmp_path / "my data"
    write_sample(small_sample, folder)
    data = load(folder.as_uri())  # percent-encoded, as Path.as_uri writes it
    assert int(data.customers.count().execute()) == len(small_sample.customers)
    with pytest.raises(RetainError, match="data folder not found"):
        load((tmp_path / "nowhere").as_uri())
