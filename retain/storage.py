"""Disk access for retain's own tables: atomic writes, so no reader ever sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from retain.errors import RetainError

TABLE_SUFFIXES = (".parquet", ".csv")


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through `write(tmp)` to a temporary file beside `path`, then rename it into place.

    A crash or an exception leaves the old file (or none) and no partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a frame as Parquet or CSV (by suffix), atomically. Timestamps go to Parquet in microseconds:
    Spark refuses nanosecond Parquet timestamps, and no input of ours is finer than a microsecond. CSV lines
    end in CRLF (RFC 4180): Python's writer then quotes a cell holding a carriage return, which with LF
    endings it leaves bare, and every CSV reader (DuckDB, Spark, Arrow, pandas) splits the row there."""
    path = Path(path)
    if path.suffix == ".csv":
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\r\n"))
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, coerce_timestamps="us",
                                                           allow_truncated_timestamps=True))


def find_table(data_dir: Path, name: str) -> Path | None:
    """The file holding table `name` in `data_dir` (`name.parquet` preferred over `name.csv`), if any."""
    for suffix in TABLE_SUFFIXES:
        candidate = Path(data_dir) / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_raw(path: Path) -> pd.DataFrame:
    """Read a table file as it is: CSV cells stay strings, so that the contract can say which cell is wrong."""
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_parquet(path)
    except Exception as exc:  # any parser failure is the user's file, not our bug
        raise RetainError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {exc}") from exc
