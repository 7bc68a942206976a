"""Sentiment on Spark through the cache: each distinct text scored once, yet the stats count interactions as the
embedded path counts them, only interactions without a cached score (or with an edited text) are scored, and
the cache Spark writes is one the embedded path reuses in full."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ibis.backends import BaseBackend

from features.sentiment_cache import SentimentStats, cache_path, score_interactions
from features.sentiment_spark import score_on_spark
from retain.engine import register_frame, to_frame
from retain.simulate import SampleData
from tests.spark.conftest import SPARK_TESTS

pytestmark = SPARK_TESTS

ANGRY = "This is absolutely ridiculous! Worst service I have ever had. I am leaving for a competitor."


@pytest.fixture(scope="module")
def log(small_sample: SampleData) -> pd.DataFrame:
    """The simulated contacts, oldest first, with some texts missing; texts repeat (templates)."""
    frame = small_sample.interactions[["interaction_id", "customer_id", "opened_at", "text"]]
    return frame.sort_values(["opened_at", "interaction_id"], ignore_index=True)


def _on_spark(con: BaseBackend, log: pd.DataFrame, path: Path | None) -> tuple[pd.Series, SentimentStats]:
    table, stats = score_on_spark(con, register_frame(con, "sentiment_test_log", log), path)
    scores = to_frame(con, table).set_index("interaction_id")["sentiment"]
    return scores.loc[log["interaction_id"]].reset_index(drop=True), stats


def test_texts_repeat_and_are_missing(log: pd.DataFrame) -> None:
    assert log["text"].nunique() < log["text"].notna().sum()
    assert log["text"].isna().any()


def test_a_cold_run_counts_every_interaction_and_scores_as_the_embedded_path(
        spark_con: BaseBackend, log: pd.DataFrame) -> None:
    scores, stats = _on_spark(spark_con, log, None)
    embedded, embedded_stats = score_interactions(log, None)
    assert (stats.scored_now, stats.from_cache, stats.missing_text) == (
        embedded_stats.scored_now, embedded_stats.from_cache, embedded_stats.missing_text)
    np.testing.assert_array_equal(scores.to_numpy(), embedded["sentiment"].to_numpy())


def test_a_warm_run_scores_only_new_and_edited_interactions(spark_con: BaseBackend, log: pd.DataFrame,
                                                           tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    new = 20
    score_interactions(log.iloc[:-new], path)  # the embedded path wrote the cache before the newest contacts
    edited = log.copy()
    edited.loc[edited.index[edited["text"].notna()][0], "text"] = ANGRY
    scores, stats = _on_spark(spark_con, edited, path)
    assert (stats.scored_now, stats.from_cache) == (new + 1, len(log) - new - 1)
    cold, _ = score_interactions(edited, None)
    np.testing.assert_array_equal(scores.to_numpy(), cold["sentiment"].to_numpy())
    _, again = score_interactions(edited, path)  # the cache Spark wrote covers every interaction
    assert (again.scored_now, again.from_cache) == (0, len(log))
