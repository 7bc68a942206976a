"""`retain score`: the champion models over every customer's features at a cutoff, written as a new score
batch and swapped in atomically. Features come from the same point-in-time lookup as training's; the scores
from the one scoring core (`models.scoring.score`), on the driver (DuckDB) or on Spark's executors
(`batch.spark_scoring`)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from batch.store import CONTEXT_COLUMNS, BatchInfo, store_dir, write_batch
from features.build import FeatureConfig, catalogue
from features.snapshot import prepare_sources
from models.registry import champion_scorer
from models.scoring import FeatureBlock, Scorer, score
from retain import engine
from retain.errors import RetainError
from retain.ingest import DataSet
from retain.location import Location, output_dir
from retain.settings import Settings

SCORE_CHUNK_ROWS = 100_000


def score_frame(scorer: Scorer, features: pd.DataFrame) -> pd.DataFrame:
    """One batch's rows for feature rows: the scores, the segment, and the work list's context columns."""
    scores = score(scorer, FeatureBlock.from_frame(features, scorer)).frame()
    scores.insert(1, "segment", features["segment"].to_numpy())
    for column in CONTEXT_COLUMNS:  # the work list's filters and columns (serving/console)
        scores[column] = features[column].to_numpy()
    return scores


def score_all(settings: Settings, data: DataSet, data_dir: Location, as_of: dt.date, scored_at: dt.datetime,
              progress: Callable[[str], None] | None = None,
              chunk_rows: int = SCORE_CHUNK_ROWS) -> tuple[Path, BatchInfo]:
    """Score every customer known at `as_of` on the configured engine and swap the new batch in (the score
    store is beside the data, so `data_dir` must be local or file://). On DuckDB the feature rows come from the
    engine `chunk_rows` at a time: the scoring core's working arrays (tree contributions, each action's changed
    rows) then take the memory of one chunk, not of every customer at once."""
    store = store_dir(output_dir(data_dir, "the score batch"))
    say = progress or (lambda message: None)
    say("computing features")
    config = FeatureConfig.from_settings(settings)
    con = data.con
    sources = prepare_sources(con, data, data_dir)
    # kept by Spark (read for a sample, then scored); the snapshot's own table when `write_snapshot` ran before
    table = sources.features_at(as_of, config, keep=engine.is_spark(con))
    if engine.is_spark(con):
        from batch.spark_scoring import SparkFeatures

        on_spark = SparkFeatures(con, table)
        first = on_spark.head()
    else:
        chunks = (batch.to_pandas() for batch in engine.to_arrow_batches(con, table, chunk_rows))
        first = next(chunks, pd.DataFrame())
    if first.empty:  # events may come before any signup; the models cannot score zero rows
        raise RetainError(f"no customer had signed up by {as_of} (the first signup is on "
                          f"{data.customers.signup_date.min().to_pyarrow().as_py():%Y-%m-%d}): nothing to score")
    say("loading the champion models")
    scorer = champion_scorer(settings, {f.name: f for f in catalogue(config)})
    if engine.is_spark(con):
        say("scoring every customer on Spark's executors")
        scores = on_spark.score(scorer, score_frame)
    else:
        say(f"scoring customers, {chunk_rows:,} at a time")
        scores = pd.concat([score_frame(scorer, chunk) for chunk in itertools.chain([first], chunks)],
                           ignore_index=True)
    stamp = scored_at.strftime("%Y%m%dT%H%M%S%fZ")
    info = BatchInfo(batch_id=stamp, file=f"batch_{stamp}.parquet", as_of=as_of.isoformat(),
                     scored_at=scored_at.isoformat(), customers=len(scores), churn_model_version=scorer.churn_version,
                     clv_model_version=scorer.clv_version)
    say("writing the batch")
    return write_batch(scores, info, store), info
