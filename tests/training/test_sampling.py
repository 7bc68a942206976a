"""Sampling the training cutoffs' rows down to `max_train_rows`, in the engine, at one rate for both labels."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from training.dataset import _kept, sampling_rate


def test_the_rate_keeps_at_most_about_max_rows() -> None:
    assert sampling_rate(None, 4, 1_000_000) == 1.0
    assert sampling_rate(4_000_000, 4, 1_000_000) == 1.0
    assert sampling_rate(1_000_000, 4, 1_000_000) == pytest.approx(0.25)


def test_the_sample_is_repeatable_and_near_its_rate() -> None:
    ids = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(20_000)]})
    table = ibis.memtable(ids)
    kept = table.filter(_kept(table, dt.date(2024, 1, 1), 0.1, 42)).to_pandas()["customer_id"]
    again = table.filter(_kept(table, dt.date(2024, 1, 1), 0.1, 42)).to_pandas()["customer_id"]
    other_day = table.filter(_kept(table, dt.date(2024, 2, 1), 0.1, 42)).to_pandas()["customer_id"]
    assert sorted(kept) == sorted(again)
    assert 1_700 < len(kept) < 2_300
    assert set(kept) != set(other_day)  # each cutoff draws its own sample
