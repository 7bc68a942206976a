"""One feature snapshot end to end: validated tables in, sentiment scored (cached), features written.

This is the I/O shell around the pure transforms in `features.build`; the CLI and batch scoring call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from features import io
from features.build import FeatureConfig, build_features
from retain.ingest import DataSet

Progress = Callable[[str, int, int], None]


@dataclass
class SnapshotStats:
    """What a feature run did, for the progress display and logs."""

    customers: int
    texts_scored: int
    texts_from_cache: int


def feature_table(con: BaseBackend, data: DataSet, as_of: dt.date, config: FeatureConfig,
                  sentiment_cache: Path | None, with_sentiment: bool = True,
                  progress: Progress | None = None) -> tuple[ir.Table, SnapshotStats]:
    """The feature expression at `as_of` over `data`, with sentiment scored through the cache."""
    customers, transactions, interactions = io.register(con, data)
    scored, stats = None, SnapshotStats(0, 0, 0)
    if with_sentiment:
        from features.sentiment import score_interactions

        known = data.interactions[data.interactions["opened_at"] < dt.datetime.combine(
            as_of + dt.timedelta(days=1), dt.time())]
        scores, sentiment_stats = score_interactions(
            known[["interaction_id", "customer_id", "opened_at", "text"]], sentiment_cache,
            progress=(lambda done, total: progress("sentiment", done, total)) if progress else None,
        )
        merged = known[["interaction_id", "customer_id", "opened_at"]].merge(scores, on="interaction_id")
        scored = io.register_frame(con, "scored_interactions", merged)
        stats = SnapshotStats(0, sentiment_stats.scored_now, sentiment_stats.from_cache)
    table = build_features(customers, transactions, interactions, as_of, config, scored)
    return table, stats


def write_snapshot(data: DataSet, data_dir: Path, as_of: dt.date, config: FeatureConfig, out: Path | None,
                   with_sentiment: bool = True, progress: Progress | None = None) -> tuple[Path, SnapshotStats]:
    """Compute the features at `as_of` and write them atomically as Parquet."""
    con = io.connect()
    table, stats = feature_table(con, data, as_of, config, io.sentiment_cache_path(data_dir), with_sentiment,
                                 progress)
    path = io.write_features(con, table, out or io.default_output(data_dir, as_of))
    stats.customers = int(con.read_parquet(path).count().execute())
    return path, stats
