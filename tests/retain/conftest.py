"""Fixtures for the retain tests: hand-made good tables, a writer into tmp_path, a reference sample."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from retain.ingest import load
from retain.simulate import SampleData, generate
from tests.retain.helpers import good_frames, write_tables

WriteTables = Callable[..., Path]


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    """The good small tables as CSV cells; change them freely, they are fresh for each test."""
    return good_frames()


@pytest.fixture
def write_data(tmp_path: Path) -> WriteTables:
    """`write_data(frames, fmt="csv")` writes the tables into a new folder under tmp_path and returns it."""
    counter = itertools.count(1)

    def write(tables: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
        return write_tables(tmp_path / f"data{next(counter)}", tables, fmt)

    return write


@pytest.fixture
def good_csv_dir(write_data: WriteTables, frames: dict[str, pd.DataFrame]) -> Path:
    """A folder holding the three good CSV files."""
    return write_data(frames)


@pytest.fixture
def typed_frames(good_csv_dir: Path) -> dict[str, pd.DataFrame]:
    """The good tables with their contract types (as `load` returns them), for writing Parquet files."""
    data = load(good_csv_dir)
    return {"customers": data.customers.to_pandas(), "transactions": data.transactions.to_pandas(),
            "interactions": data.interactions.to_pandas()}


@pytest.fixture(scope="session")
def reference_sample() -> SampleData:
    """3000 simulated customers with a fixed seed, for the reference-model checks."""
    return generate(3000, 7)
