"""Quarantine: the bad rows of a table, as they were in the file, written as CSV straight from the engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
from ibis.backends import BaseBackend

from retain.rules import CheckedTable
from retain.storage import atomic_write


def write_quarantine(con: BaseBackend, checked: CheckedTable | None, bad_rows: int, target: Path) -> None:
    """Write the bad rows to `target` (row, the file's columns, problems): DuckDB writes the file itself, other
    engines stream Arrow batches, so one batch at most is in memory. With nothing bad, remove a file left from
    an earlier run."""
    if checked is None or not bad_rows:
        target.unlink(missing_ok=True)  # a file left from an earlier run would mislead
        return

    rows = checked.bad_rows()

    def write(tmp: Path) -> None:
        if con.name == "duckdb":  # DuckDB writes the file itself
            con.to_csv(rows, tmp)  # type: ignore[attr-defined]
            return
        batches = con.to_pyarrow_batches(rows)
        with pacsv.CSVWriter(tmp, batches.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)

    atomic_write(target, write)
