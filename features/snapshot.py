"""Feature snapshots end to end: validated tables in, sentiment scored (cached), features out.

This is the I/O shell around the pure transforms in `features.build`. Sources are prepared once (tables
registered with the engine, texts scored) and then give a feature table at any cutoff, which is how training
sets (several past cutoffs) and batch scoring (today) come from the same point-in-time lookup.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from features import io
from features.build import FeatureConfig, build_features
from retain.engine import is_spark, on_disk
from retain.ingest import DataSet
from retain.location import Location, local_dir, output_dir

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
    kept: dict[tuple[dt.date, FeatureConfig], ir.Table] = field(default_factory=dict)

    def features_at(self, as_of: dt.date, config: FeatureConfig, keep: bool = False) -> ir.Table:
        """The feature table at `as_of`. With `keep`, the engine computes it once and keeps it (Spark's cache, or
        a temporary table), and a later call for the same cutoff gets the kept table, as it gets the snapshot
        `write_snapshot` wrote: writing the snapshot and scoring in one process compute the features once."""
        if (as_of, config) in self.kept:
            return self.kept[as_of, config]
        # DuckDB: each family into a file first, so that the join's query fits a memory limit
        materialize = None if is_spark(self.con) else functools.partial(on_disk, self.con)
        table = build_features(self.customers, self.transactions, self.interactions, as_of, config,
                               self.scored_interactions, materialize=materialize)
        if keep:
            table = self.kept.setdefault((as_of, config), table.cache())
        return table


def prepare_sources(con: BaseBackend, data: DataSet, data_dir: Location | None, with_sentiment: bool = True,
                    progress: Progress | None = None) -> FeatureSources:
    """Register the tables and score every interaction's text once, through the cache beside `data_dir` (no
    cache when it is None, or a URI this process cannot write to, like hdfs://). Done once per data set: a
    second call with the same arguments (the score after the snapshot in one process) gets the same sources."""
    key = ("feature sources", data_dir, with_sentiment)
    if key not in data.derived:
        data.derived[key] = _prepare(con, data, data_dir, with_sentiment, progress)
    sources: FeatureSources = data.derived[key]
    return sources


def _prepare(con: BaseBackend, data: DataSet, data_dir: Location | None, with_sentiment: bool,
             progress: Progress | None) -> FeatureSources:
    customers, transactions, interactions = io.register(con, data)
    if not with_sentiment:
        return FeatureSources(con, customers, transactions, interactions, None)
    from features.sentiment_cache import cache_path, score_interactions

    local = local_dir(data_dir) if data_dir is not None else None
    cache = cache_path(local) if local is not None else None
    if is_spark(con):  # VADER on the executors, through the same cache
        from features.sentiment_spark import score_on_spark

        scored_table, spark_stats = score_on_spark(con, interactions, cache)
        return FeatureSources(con, customers, transactions, interactions, scored_table, spark_stats.scored_now,
                              spark_stats.from_cache)

    texts = io.to_frame(con, interactions.select("interaction_id", "text"))  # VADER runs in Python
    scores, stats = score_interactions(
        texts, cache,
        progress=(lambda done, total: progress("sentiment", done, total)) if progress else None,
    )
    scored_ids = io.register_frame(con, "interaction_sentiment", scores.astype(
        {"interaction_id": "string", "sentiment": "float64"}))  # typed even without a single contact
    scored = interactions.select("interaction_id", "customer_id", "opened_at").join(
        scored_ids, "interaction_id").select("interaction_id", "customer_id", "opened_at", "sentiment")
    return FeatureSources(con, customers, transactions, interactions, scored, stats.scored_now,
                          stats.from_cache)


def write_snapshot(data: DataSet, data_dir: Location, as_of: dt.date, config: FeatureConfig, out: Path | None,
                   with_sentiment: bool = True, progress: Progress | None = None) -> tuple[Path, FeatureSources, int]:
    """Compute the features at `as_of` and write them atomically as Parquet: (path, sources, row count)."""
    if out is None:
        out = io.default_output(output_dir(data_dir, "the feature table (or give --out)"), as_of)
    con = data.con
    sources = prepare_sources(con, data, data_dir, with_sentiment, progress)
    spark = is_spark(con)
    table = sources.features_at(as_of, config, keep=spark)  # Spark: computed once into its cache, written from it
    path = io.write_features(con, table, out)
    if not spark:  # a score in this process reads the file just written (a DuckDB copy would cost memory)
        sources.kept.setdefault((as_of, config), con.read_parquet(path))
    return path, sources, pq.read_metadata(path).num_rows
