"""Batch scoring on Spark: the one scoring core applied on the executors with `mapInPandas`, the scorer
(both champion models) broadcast once to every executor.

The result (one row per customer, a dozen columns) is gathered on the driver and written by the same
`batch.store.write_batch` as the embedded path, with the same column types, so `retain serve` cannot tell
the two batches apart.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from batch.store import CONTEXT_COLUMNS
from models.scoring import Scorer

ScoreFrame = Callable[[Scorer, pd.DataFrame], pd.DataFrame]
SAMPLE_ROWS = 8


class SparkFeatures:
    """The feature table, scored where it lies; `table` should be one Spark keeps (`features_at(keep=True)`), or
    every use recomputes it."""

    def __init__(self, con: BaseBackend, table: ir.Table):
        from retain.engine import spark_frame

        self._schema = table.schema().to_pyarrow()
        self._frame = spark_frame(con, table)
        self._context = con._session.sparkContext  # type: ignore[attr-defined]

    def head(self, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
        """A few rows on the driver, typed as `retain.engine.to_frame` types them."""
        return self._frame.limit(rows).toArrow().cast(self._schema).to_pandas()

    def score(self, scorer: Scorer, score_frame: ScoreFrame) -> pd.DataFrame:
        """`score_frame` over every row, on the executors; the output's column types are those it gives for
        a few rows on the driver."""
        from pyspark import cloudpickle
        from pyspark.sql.pandas.types import from_arrow_schema

        sample = score_frame(scorer, self.head())
        arrow_schema = pa.schema([field.with_type(pa.string()) if pa.types.is_large_string(field.type) else field
                                  for field in pa.Schema.from_pandas(sample, preserve_index=False)])
        # cloudpickle, not the broadcast's pickle: the catalogue's wording functions are closures
        shared = self._context.broadcast(cloudpickle.dumps(scorer))

        def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            loaded: Scorer = pickle.loads(shared.value)
            for features in batches:
                if len(features):
                    yield score_frame(loaded, features)

        columns = list(dict.fromkeys(["customer_id", "segment", *scorer.input_columns, *CONTEXT_COLUMNS]))
        scored = self._frame.select(*columns).mapInPandas(
            score_batches, from_arrow_schema(arrow_schema))  # type: ignore[arg-type]
        try:
            return scored.toArrow().to_pandas().astype(sample.dtypes.to_dict())
        finally:
            shared.unpersist()
