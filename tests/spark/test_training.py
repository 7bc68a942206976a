"""Training on Spark: every cutoff's features computed on Spark, the training rows sampled in the engine down
to `max_train_rows` before they reach the driver, the rate logged in MLflow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mlflow.tracking import MlflowClient

from retain.ingest import load
from retain.sample import write_sample
from retain.settings import Settings
from retain.simulate import generate
from tests.spark.conftest import SPARK_SETTINGS, SPARK_TESTS
from training.pipeline import train

pytestmark = SPARK_TESTS
AS_OF = dt.date(2025, 12, 31)
CUSTOMERS = 800
MAX_ROWS = 300


def test_training_on_spark_samples_and_logs_the_rate(tmp_path: Path, spark_con: object) -> None:
    data_dir = tmp_path / "data"
    write_sample(generate(CUSTOMERS, 20251202), data_dir)
    settings = Settings(_env_file=None, mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",  # type: ignore[call-arg]
                        mlflow_artifact_root=tmp_path / "artifacts", data_dir=data_dir, training_cutoffs=1,
                        max_train_rows=MAX_ROWS, **SPARK_SETTINGS)
    report = train(settings, load(data_dir, con=spark_con), data_dir, AS_OF, None)

    run = MlflowClient(settings.mlflow_tracking_uri).get_run(report.run_id)
    rate = float(run.data.params["train_sampling_rate"])
    assert run.data.params["engine"] == "spark"
    assert rate == MAX_ROWS / CUSTOMERS
    assert 0 < report.metrics["rows_train"] <= MAX_ROWS * 1.3  # a hash sample: near the rate, not exact
    assert report.metrics["rows_test"] > report.metrics["rows_train"]  # test rows are never sampled
    assert 0.5 < report.metrics["churn_test_roc_auc"] <= 1.0
    assert report.versions  # registered like a DuckDB run
