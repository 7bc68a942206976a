"""`score_all`: a message, not a traceback, where nothing can be scored yet; the same batch whatever the chunk size."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from batch.job import SCORE_CHUNK_ROWS, score_all
from batch.store import ScoreBatch, store_dir
from retain.errors import RetainError
from retain.ingest import load
from retain.settings import Settings
from tests.retain.helpers import good_frames, write_tables
from tests.serving.conftest import AS_OF, CUSTOMERS, Store, store  # noqa: F401  (the session's trained store)


def test_a_cutoff_before_every_signup_is_refused(tmp_path: Path) -> None:
    frames = good_frames()  # C1 buys on 2024-01-01, the first event; here it signs up the next day
    frames["customers"].loc[0, "signup_date"] = "2024-01-02"
    data_dir = write_tables(tmp_path / "data", frames)
    settings = Settings(_env_file=None, mlflow_tracking_uri=f"sqlite:///{tmp_path}/none.db")  # type: ignore[call-arg]

    with pytest.raises(RetainError, match=r"no customer had signed up by 2024-01-01 \(the first signup is on "
                                          r"2024-01-02\): nothing to score"):
        score_all(settings, load(data_dir), data_dir, dt.date(2024, 1, 1), dt.datetime.now(dt.UTC))
    assert not (tmp_path / "none.db").exists()  # refused before the registry was opened


def test_scoring_in_chunks_gives_the_batch_of_one_pass(store: Store, tmp_path: Path) -> None:  # noqa: F811
    data_dir = Path(shutil.copytree(store.data_dir, tmp_path / "data"))
    shutil.rmtree(store_dir(data_dir))
    assert CUSTOMERS < SCORE_CHUNK_ROWS  # the store's batch was scored in one chunk

    score_all(store.settings(data_dir=data_dir), load(data_dir), data_dir, AS_OF, dt.datetime.now(dt.UTC),
              chunk_rows=7)

    chunked = ScoreBatch.load(store_dir(data_dir)).frame
    pd.testing.assert_frame_equal(chunked, store.scores())
