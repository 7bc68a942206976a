"""The CDNOW transaction log shipped with `lifetimes`, converted into retain's data contract.

A real retail data set (23,570 customers who first bought in Q1 1997, 69,659 transactions to mid-1998) that
checks our RFM against lifetimes' own summary. It has no service interactions, so that table is empty.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from retain.contract import INTERACTIONS, empty_table
from retain.simulate import SampleData

MASTER_FILE = "CDNOW_master.txt"


def master_path() -> Path:
    """Where lifetimes ships the log (read directly: `lifetimes.datasets` imports the removed pkg_resources)."""
    return Path(str(files("lifetimes") / "datasets" / MASTER_FILE))


def cdnow_tables(path: Path | None = None) -> SampleData:
    """customers (sign-up = first purchase day), transactions, and an empty interactions table."""
    log = pd.read_csv(path or master_path(), sep=r"\s+", header=None, skiprows=1,
                      names=["customer_id", "date", "cds", "amount"], dtype={"customer_id": str, "date": str})
    transactions = pd.DataFrame({
        "customer_id": log["customer_id"],
        "timestamp": pd.to_datetime(log["date"], format="%Y%m%d"),
        "amount": log["amount"].astype(float),
    })
    customers = transactions.groupby("customer_id", as_index=False)["timestamp"].min().rename(
        columns={"timestamp": "signup_date"})
    customers["churned_at"] = pd.NaT
    return SampleData(customers, transactions, empty_table(INTERACTIONS), truth=None)
