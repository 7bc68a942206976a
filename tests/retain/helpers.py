"""Small hand-made input tables that satisfy the contract, and helpers to corrupt, write and check them."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from retain.ingest import Problem, ValidationFailed, load

# Five customers; C5 has no events, so breaking C5's row never cascades into the other files.
CUSTOMERS_CSV = """\
customer_id,signup_date,segment,country,churned_at
C1,2024-01-01,basic,US,
C2,2024-01-15,plus,GB,2024-09-01
C3,2024-02-01,,NA,
C4,2024-03-10,premium,DE,
C5,2024-04-01,basic,FR,
"""

TRANSACTIONS_CSV = """\
customer_id,timestamp,amount,order_id
C1,2024-01-01T09:00:00,10.50,O1
C1,2024-02-11T12:30:00Z,0,O2
C2,2024-01-15 08:00:00,99.99,O3
C3,2024-02-01T10:00:00+02:00,5,
C4,2024-03-10T18:45:00,42,O5
"""

INTERACTIONS_CSV = """\
interaction_id,customer_id,case_id,opened_at,closed_at,channel,resolved,transfers,handle_seconds,ces,csat,nps,text
I1,C1,K1,2024-01-02T10:00:00,2024-01-02T10:07:00,phone,false,1,420,,,,"Where is my order, please?"
I2,C1,K1,2024-01-03T09:00:00,2024-01-03T09:05:00,chat,true,0,300.5,6,4,9,Thanks a lot
I3,C2,K2,2024-01-20T15:00:00,,email,no,0,0,,,,
I4,C3,K3,2024-02-02T11:00:00,2024-02-02T11:20:00,self_service,yes,2,60,1,1,0,This is useless
"""

GOOD_CSV = {"customers": CUSTOMERS_CSV, "transactions": TRANSACTIONS_CSV, "interactions": INTERACTIONS_CSV}
TABLE_NAMES = ("customers", "transactions", "interactions")


def good_frames() -> dict[str, pd.DataFrame]:
    """The good tables as CSV cells (strings, None where empty), fresh copies each call."""
    return {
        name: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        .astype(object)
        .where(lambda frame: frame.notna(), None)
        for name, text in GOOD_CSV.items()
    }


def write_tables(directory: Path, frames: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    """Write the tables as `<name>.csv` or `<name>.parquet` into `directory` (created) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(directory / f"{name}.csv", index=False)
        else:
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def problems_of(data_dir: Path) -> list[Problem]:
    """The problems `load` refuses the folder with (fails the test if it does not refuse)."""
    with pytest.raises(ValidationFailed) as failure:
        load(data_dir)
    assert failure.value.problems, "ValidationFailed must carry the problems"
    return failure.value.problems


def located(problems: list[Problem]) -> set[tuple[str, int | None, str | None]]:
    """(file name, row, column) of each problem."""
    return {(Path(p.file).name, p.row, p.column) for p in problems}


def assert_reported(problems: list[Problem], file: str, row: int | None, column: str, rule: str) -> Problem:
    """Exactly one problem at (file, row, column) and its rule text contains `rule`; returns it."""
    matches = [p for p in problems if Path(p.file).name == file and p.row == row and p.column == column]
    shown = "\n".join(str(p) for p in problems)
    assert len(matches) == 1, f"expected one problem at {file} row {row} column {column}, got:\n{shown}"
    assert rule in matches[0].rule, f"rule {matches[0].rule!r} does not contain {rule!r}"
    return matches[0]


def write_csv_with_a_negative_amount(parquet_dir: Path, target: Path) -> Path:
    """The three Parquet tables of `parquet_dir` as CSV in `target`, with a negative amount in data row 3 of
    transactions.csv (the one problem a report must name)."""
    target.mkdir()
    for name in ("customers", "transactions", "interactions"):
        pd.read_parquet(parquet_dir / f"{name}.parquet").to_csv(target / f"{name}.csv", index=False)
    transactions = pd.read_csv(target / "transactions.csv", dtype=str, keep_default_na=False)
    transactions.loc[2, "amount"] = "-7.5"
    transactions.to_csv(target / "transactions.csv", index=False)
    return target
