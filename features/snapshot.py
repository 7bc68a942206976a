"""Feature snapshots end to end: validated tables in, sentiment scored (cached), features out.

This is the I/O shell around the pure transforms in `features.build`. Sources are prepared once (tables
registered with the engine, texts scored) and then give a feature table at any cutoff, which is how training
sets (several past cutoffs) and batch scoring (today) come from the same point-in-time lookup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from features import io
from features.build import FeatureConfig, build_features
from retain.engine import EngineConfig, is_spark
from retain.ingest import DataSet

Progress = Callable[[str, int, int], None]


@dataclass
class FeatureSources:
    """The engine tables every cutoff's features are computed from."""

    con: BaseBackend
    customers: ir.Table
    transactions: ir.Table
    interactions: ir.Table
    scored_interactions: ir.Table | None
    texts_scored: int = 0
    texts_from_cache: int = 0

    def features_at(self, as_of: dt.date, config: FeatureConfig) -> ir.Table:
        return build_features(self.customers, self.transactions, self.interactions, as_of, config,
                              self.scored_interactions)


def prepare_sources(con: BaseBackend, data: DataSet, data_dir: Path | None, with_sentiment: bool = True,
                    progress: Progress | None = None) -> FeatureSources:
    """Register the tables and score every interaction's text once, through the cache beside `data_dir`
    (no cache when it is None)."""
    customers, transactions, interactions = io.register(con, data)
    if not with_sentiment:
        return FeatureSources(con, customers, transactions, interactions, None)
    from features.sentiment_cache import cache_path, score_interactions

    if is_spark(con):  # VADER on the executors, through the same cache
        from features.sentiment_spark import score_on_spark

        scored_table, spark_stats = score_on_spark(con, interactions,
                                                   cache_path(data_dir) if data_dir is not None else None)
        return FeatureSources(con, customers, transactions, interactions, scored_table, spark_stats.scored_now,
                              spark_stats.from_cache)

    contacts = data.interactions[["interaction_id", "customer_id", "opened_at", "text"]]
    scores, stats = score_interactions(
        contacts, cache_path(data_dir) if data_dir is not None else None,
        progress=(lambda done, total: progress("sentiment", done, total)) if progress else None,
    )
    scored = contacts.drop(columns="text").assign(sentiment=scores["sentiment"].to_numpy())
    return FeatureSources(con, customers, transactions, interactions,
                          io.register_frame(con, "scored_interactions", scored), stats.scored_now,
                          stats.from_cache)


def write_snapshot(data: DataSet, data_dir: Path, as_of: dt.date, config: FeatureConfig, out: Path | None,
                   with_sentiment: bool = True, progress: Progress | None = None,
                   engine: EngineConfig | None = None) -> tuple[Path, FeatureSources, int]:
    """Compute the features at `as_of` on `engine` (default embedded DuckDB) and write them atomically as
    Parquet: (path, sources, row count)."""
    con = io.connect(engine)
    sources = prepare_sources(con, data, data_dir, with_sentiment, progress)
    path = io.write_features(con, sources.features_at(as_of, config), out or io.default_output(data_dir, as_of))
    return path, sources, pq.read_metadata(path).num_rows
