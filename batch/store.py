"""The score store: batches of scores as Parquet files beside the data, and a pointer to the current one.

A batch is written to its own file and then the pointer (`CURRENT.json`) is replaced atomically, so readers
see either the old batch or the new one, never half of one; scoring can run while the API serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from models.scoring import ACTION_COLUMNS, REASON_COLUMNS
from retain.errors import RetainError
from retain.storage import atomic_write, write_table

POINTER = "CURRENT.json"
KEEP_BATCHES = 3
SCORE_COLUMNS = [
    "customer_id", "segment", "churn_probability", "risk_tier", "p_alive", "expected_purchases", "clv",
    "clv_low", "clv_high", "value_at_risk", *REASON_COLUMNS, "best_action", "value_saved", *ACTION_COLUMNS,
]
# What a retention agent filters and sorts the work list by, carried from the feature table beside the scores
# (a batch written before they were carried lacks them: readers treat them as missing).
CONTEXT_COLUMNS = ["country", "oldest_open_case_days", "days_since_last_purchase"]


class BatchInfo(BaseModel):
    """What a batch is: where it lives, the data cutoff, the models that made it, and when."""

    batch_id: str
    file: str
    as_of: str
    scored_at: str
    customers: int
    churn_model_version: str
    clv_model_version: str


def store_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "scores"


def write_batch(scores: pd.DataFrame, info: BatchInfo, directory: Path) -> Path:
    """Write the batch file, then swap the pointer; older batches beyond the last few are removed."""
    directory = Path(directory)
    columns = SCORE_COLUMNS + [c for c in CONTEXT_COLUMNS if c in scores]
    path = write_table(scores[columns], directory / info.file)
    atomic_write(directory / POINTER, lambda tmp: tmp.write_text(info.model_dump_json(indent=2)))
    batches = sorted(directory.glob("batch_*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in batches[KEEP_BATCHES:]:
        old.unlink(missing_ok=True)
    return path


def current_info(directory: Path) -> BatchInfo | None:
    pointer = Path(directory) / POINTER
    if not pointer.is_file():
        return None
    return BatchInfo.model_validate(json.loads(pointer.read_text()))


@dataclass
class ScoreBatch:
    """A loaded batch: rows ordered by value at risk (highest first) and an id -> row index."""

    info: BatchInfo
    frame: pd.DataFrame
    position: dict[str, int]

    @classmethod
    def load(cls, directory: Path) -> ScoreBatch:
        info = current_info(directory)
        if info is None:
            raise RetainError(f"{directory}: no score batch yet; run `retain score` first")
        frame = pd.read_parquet(Path(directory) / info.file)
        frame = frame.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], kind="stable",
                                  na_position="last").reset_index(drop=True)
        position = dict(zip(frame["customer_id"].astype(str).tolist(), range(len(frame)), strict=True))
        return cls(info, frame, position)
