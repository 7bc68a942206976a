"""Quarantine: bad rows are set aside with their reasons, every good row is kept, none is lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retain.ingest import ValidationFailed, load
from retain.sample import write_sample
from tests.retain.helpers import TABLE_NAMES


def read_quarantine(directory: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])


def test_bad_rows_are_set_aside_and_good_rows_kept(write_data, frames, tmp_path: Path) -> None:
    frames["customers"].loc[1, "signup_date"] = "someday"  # C2: its transaction and interaction go too
    frames["transactions"].loc[0, "amount"] = "-10"
    frames["interactions"].loc[3, "channel"] = "pigeon"
    inputs = {name: frame.copy() for name, frame in frames.items()}
    quarantine = tmp_path / "quarantine"

    data = load(write_data(frames), quarantine)

    expected_bad_rows = {"customers": [2], "transactions": [1, 3], "interactions": [3, 4]}
    for table in TABLE_NAMES:
        bad = read_quarantine(quarantine, table)
        good = getattr(data, table).to_pandas()
        assert list(bad["row"].astype(int)) == expected_bad_rows[table]
        assert len(good) + len(bad) == len(inputs[table])
    assert data.set_aside == 5
    assert list(data.customers.to_pandas()["customer_id"]) == ["C1", "C3", "C4", "C5"]
    assert list(data.transactions.to_pandas()["order_id"].fillna("-")) == ["O2", "-", "O5"]
    assert list(data.interactions.to_pandas()["interaction_id"]) == ["I1", "I2"]


def test_quarantine_file_keeps_the_raw_row_and_names_the_rule(write_data, frames, tmp_path: Path) -> None:
    frames["transactions"].loc[3, "amount"] = "-2.5"
    frames["transactions"].loc[4, "timestamp"] = "tomorrow"
    frames["transactions"].loc[4, "amount"] = "lots"
    quarantine = tmp_path / "q"

    load(write_data(frames), quarantine)

    bad = read_quarantine(quarantine, "transactions")
    assert list(bad.columns) == ["row", "customer_id", "timestamp", "amount", "order_id", "problems"]
    assert list(bad["row"]) == ["4", "5"]
    assert list(bad["amount"]) == ["-2.5", "lots"]  # the cell as it was, not a parsed value
    assert bad.loc[0, "problems"] == "amount: must be >= 0"
    assert "timestamp: not a valid timestamp" in bad.loc[1, "problems"]
    assert "amount: not a number" in bad.loc[1, "problems"]
    assert not (quarantine / "customers.csv").exists()  # nothing bad there, no file
    assert not (quarantine / "interactions.csv").exists()


def test_events_of_a_quarantined_customer_are_set_aside(write_data, frames, tmp_path: Path) -> None:
    frames["customers"].loc[0, "customer_id"] = "C3"  # C1's row now duplicates C3: both set aside
    quarantine = tmp_path / "q"

    data = load(write_data(frames), quarantine)

    assert set(data.customers.to_pandas()["customer_id"]) == {"C2", "C4", "C5"}
    assert set(data.transactions.to_pandas()["customer_id"]) == {"C2", "C4"}
    assert set(data.interactions.to_pandas()["customer_id"]) == {"C2"}
    bad_transactions = read_quarantine(quarantine, "transactions")
    assert list(bad_transactions["customer_id"]) == ["C1", "C1", "C3"]  # C1 now unknown, C3 set aside
    assert bad_transactions["problems"].str.contains("customer_id must exist in customers").all()


def test_missing_required_column_still_refuses(write_data, frames, tmp_path: Path) -> None:
    frames["interactions"] = frames["interactions"].drop(columns=["resolved"])
    frames["transactions"].loc[0, "amount"] = "-1"  # a row problem that could be quarantined on its own
    quarantine = tmp_path / "q"

    with pytest.raises(ValidationFailed) as failure:
        load(write_data(frames), quarantine)

    assert any(p.column == "resolved" and p.row is None for p in failure.value.problems)
    assert not quarantine.exists() or not any(quarantine.iterdir())


def test_clean_data_with_quarantine_writes_nothing(good_csv_dir: Path, tmp_path: Path) -> None:
    quarantine = tmp_path / "q"

    data = load(good_csv_dir, quarantine)

    assert data.set_aside == 0 and data.problems == []
    assert not quarantine.exists() or not any(quarantine.iterdir())


def test_parquet_bad_rows_are_quarantined_as_csv(write_data, typed_frames, tmp_path: Path) -> None:
    typed_frames["interactions"].loc[1, "nps"] = 11
    quarantine = tmp_path / "q"

    data = load(write_data(typed_frames, "parquet"), quarantine)

    bad = read_quarantine(quarantine, "interactions")
    assert list(bad["row"]) == ["2"] and list(bad["interaction_id"]) == ["I2"]
    assert bad.loc[0, "problems"] == "nps: must be <= 10"
    assert list(data.interactions.to_pandas()["interaction_id"]) == ["I1", "I3", "I4"]


def test_no_row_is_lost_on_generated_data(small_sample, tmp_path: Path) -> None:
    """Random corruptions in a simulated CSV data set: exactly the bad rows (and their dependants) go."""
    rng = np.random.default_rng(3)
    data_dir = tmp_path / "data"
    write_sample(small_sample, data_dir, "csv")
    raw = {name: pd.read_csv(data_dir / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
           for name in TABLE_NAMES}

    bad_customers = rng.choice(len(raw["customers"]), 7, replace=False)
    raw["customers"].loc[bad_customers, "signup_date"] = "2024-99-99"
    bad_transactions = rng.choice(len(raw["transactions"]), 12, replace=False)
    raw["transactions"].loc[bad_transactions, "amount"] = "-1"
    bad_interactions = rng.choice(len(raw["interactions"]), 9, replace=False)
    raw["interactions"].loc[bad_interactions, "ces"] = "0"
    for name, frame in raw.items():
        frame.to_csv(data_dir / f"{name}.csv", index=False)

    data = load(data_dir, tmp_path / "q")

    lost_ids = set(raw["customers"].loc[bad_customers, "customer_id"])
    def of_lost_customers(table: str) -> set[int]:
        return set(np.flatnonzero(raw[table]["customer_id"].isin(lost_ids)))

    expected = {
        "customers": set(bad_customers),
        "transactions": set(bad_transactions) | of_lost_customers("transactions"),
        "interactions": set(bad_interactions) | of_lost_customers("interactions"),
    }
    for table in TABLE_NAMES:
        bad = read_quarantine(tmp_path / "q", table)
        good = getattr(data, table).to_pandas()
        assert {int(row) - 1 for row in bad["row"]} == expected[table], table
        assert len(good) + len(bad) == len(raw[table]), table
    set_aside = read_quarantine(tmp_path / "q", "transactions")
    kept = set(data.transactions.to_pandas()["order_id"]) | set(set_aside["order_id"])
    assert kept == set(raw["transactions"]["order_id"])
    assert set(data.interactions.to_pandas()["interaction_id"]).isdisjoint(
        read_quarantine(tmp_path / "q", "interactions")["interaction_id"])
    assert data.set_aside == sum(len(expected[table]) for table in TABLE_NAMES)
