"""`score_all` on data where nothing can be scored yet: a message, not a traceback from the models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from batch.job import score_all
from retain.errors import RetainError
from retain.ingest import load
from retain.settings import Settings
from tests.retain.helpers import good_frames, write_tables


def test_a_cutoff_before_every_signup_is_refused(tmp_path: Path) -> None:
    frames = good_frames()  # C1 buys on 2024-01-01, the first event; here it signs up the next day
    frames["customers"].loc[0, "signup_date"] = "2024-01-02"
    data_dir = write_tables(tmp_path / "data", frames)
    settings = Settings(_env_file=None, mlflow_tracking_uri=f"sqlite:///{tmp_path}/none.db")  # type: ignore[call-arg]

    with pytest.raises(RetainError, match=r"no customer had signed up by 2024-01-01 \(the first signup is on "
                                          r"2024-01-02\): nothing to score"):
        score_all(settings, load(data_dir), data_dir, dt.date(2024, 1, 1), dt.datetime.now(dt.UTC))
    assert not (tmp_path / "none.db").exists()  # refused before the registry was opened
