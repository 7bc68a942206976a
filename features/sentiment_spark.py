"""Sentiment on Spark: texts hashed and scored by VADER on the executors (`mapInPandas`), through the same
cache as the embedded path (`features.sentiment_cache`: interaction id + text hash, one Parquet file).

Python sees each distinct text once, as the embedded path does (`score_texts`): texts repeat (templated replies,
copy-pasted complaints; the simulated data has ~4,000 distinct texts among millions of interactions), so the
distinct texts are hashed, the hashes joined back to the interactions, and only the distinct texts of
interactions without a cached score are sent to VADER, their scores joined back by hash. The cache is read by
Spark itself. The merged cache is written back as the one Parquet file the embedded path reads: its rows pass
through the driver (three narrow columns, ~60 bytes an interaction), only on runs that scored something new.

A missing text's NaN score comes back from the executors as a null (Arrow's reading of pandas' NaN): both
count as a missing text.

Spark has no unsigned integers: inside Spark the 64-bit text hash is carried as a signed long with the same
bits, and converted back when the file is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from features.sentiment import score_texts
from features.sentiment_cache import CACHE_COLUMNS, SCORER, SentimentStats, text_hash
from retain import engine
from retain.spark import literal_path
from retain.storage import atomic_write

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SCORED_VIEW = "scored_interactions"
HASHED_SCHEMA = "text string, text_hash long"
SCORES_SCHEMA = "text_hash long, sentiment double"


def _with_hash(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """On the executors: each text's hash as the embedded path computes it, as signed bits."""
    for batch in batches:
        yield batch.assign(text_hash=text_hash(batch["text"]).view(np.int64))


def _vader(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """On the executors: VADER's compound score of each text (NaN without text), one process per task."""
    for batch in batches:
        scores = score_texts(batch["text"], workers=1).scores
        yield batch.drop(columns="text").assign(sentiment=scores)


def _valid_cache(path: Path | None) -> bool:
    """The cache file exists and was written by this scorer (the embedded path's `load_cache` rule)."""
    if path is None or not Path(path).is_file():
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
        attrs = json.loads(metadata.get(b"PANDAS_ATTRS", b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return False
    return bool(attrs.get("scorer") == SCORER)


def _cached(con: BaseBackend, path: Path) -> DataFrame:
    """The cache file as a Spark frame (interaction_id, text_hash as signed long, sentiment)."""
    from pyspark.sql import functions as F

    cache = con._session.read.parquet(literal_path(path))  # type: ignore[attr-defined]
    unsigned = F.col("text_hash").cast("decimal(20,0)")
    two_63, two_64 = (F.expr(f"CAST('{2 ** k}' AS DECIMAL(20,0))") for k in (63, 64))
    signed = F.when(unsigned >= two_63, unsigned - two_64).otherwise(unsigned).cast("long")
    return (cache.select(F.col("interaction_id").cast("string").alias("interaction_id"),
                         signed.alias("text_hash"), F.col("sentiment").cast("double").alias("sentiment"))
            .dropDuplicates(["interaction_id"]))


def score_on_spark(con: BaseBackend, interactions: ir.Table,
                   cache_path: Path | None) -> tuple[ir.Table, SentimentStats]:
    """`scored_interactions` (interaction_id, customer_id, opened_at, sentiment) as a Spark view, and what was
    done (counted in interactions, as the embedded path counts); with `cache_path=None` nothing is read or
    written."""
    from pyspark.sql import functions as F

    contacts = engine.spark_frame(con, interactions.select("interaction_id", "customer_id", "opened_at", "text"))
    texts = contacts.select("text").distinct().mapInPandas(_with_hash, HASHED_SCHEMA).persist()  # type: ignore[arg-type]
    keyed = contacts.join(texts, contacts["text"].eqNullSafe(texts["text"])).drop(texts["text"])
    old = _cached(con, cache_path) if cache_path is not None and _valid_cache(cache_path) else None
    if old is None:
        hits, misses = None, keyed
    else:
        found = keyed.join(old.withColumn("fresh", F.lit(False)), ["interaction_id", "text_hash"], "left")
        hits = found.filter(F.col("fresh").isNotNull()).drop("text")
        misses = found.filter(F.col("fresh").isNull()).drop("fresh", "sentiment")
    wanted = texts.join(misses.select("text_hash").distinct(), "text_hash")  # a hash stands for its text
    scores = wanted.mapInPandas(_vader, SCORES_SCHEMA)  # type: ignore[arg-type]
    fresh = misses.drop("text").join(scores, "text_hash").withColumn("fresh", F.lit(True))
    scored = (fresh if hits is None else hits.unionByName(fresh)).persist()
    counts = scored.agg(F.count(F.lit(1)).alias("rows"), F.count_if("fresh").alias("fresh"),
                        F.count_if(F.isnan("sentiment") | F.isnull("sentiment")).alias("missing"),
                        F.count_distinct("text_hash").alias("texts")).first()
    texts.unpersist()
    rows, scored_now = (int(counts["rows"]), int(counts["fresh"])) if counts else (0, 0)
    if cache_path is not None and scored_now:
        _write_cache(scored, old, cache_path)
    scored.select("interaction_id", "customer_id", "opened_at", "sentiment").createOrReplaceTempView(SCORED_VIEW)
    stats = SentimentStats(scored_now=scored_now, from_cache=rows - scored_now,
                           distinct_texts=int(counts["texts"]) if counts else 0,
                           missing_text=int(counts["missing"]) if counts else 0)
    return con.table(SCORED_VIEW), stats


def _write_cache(scored: DataFrame, old: DataFrame | None, path: Path) -> None:
    """This run's rows plus old rows of interactions this run did not see (as `merged_cache` keeps them),
    through the driver into one Parquet file the embedded path reads."""
    current = scored.select(*CACHE_COLUMNS)
    merged = current if old is None else current.unionByName(old.join(current, "interaction_id", "left_anti"))
    schema = pa.schema([("interaction_id", pa.string()), ("text_hash", pa.uint64()), ("sentiment", pa.float64())],
                       metadata={b"PANDAS_ATTRS": json.dumps({"scorer": SCORER}).encode()})

    table = merged.toArrow()
    hashes = table.column("text_hash").combine_chunks().view(pa.uint64())
    result = pa.table([table.column("interaction_id").cast(pa.string()), hashes, table.column("sentiment")],
                      schema=schema)
    atomic_write(Path(path), lambda tmp: pq.write_table(result, tmp))
