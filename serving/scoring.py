"""`retain score`: load the champions from the registry, score every customer at a cutoff, write a batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from features import io as feature_io
from features.build import FeatureConfig
from features.snapshot import prepare_sources
from retain.errors import RetainError
from retain.ingest import DataSet
from retain.settings import Settings
from serving.batch import score_frame
from serving.store import BatchInfo, store_dir, write_batch
from training import tracking


def load_champions(settings: Settings) -> tuple[object, object, str, str]:
    """(churn model, CLV model, churn version, CLV version) behind the `champion` aliases."""
    client = tracking.configure(settings)
    versions = {name: tracking.champion_version(client, name) for name in (tracking.CHURN_MODEL, tracking.CLV_MODEL)}
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        raise RetainError(f"no champion for {', '.join(missing)} in {settings.mlflow_tracking_uri}; "
                          "run `retain train` first")
    churn = tracking.load_python_model(f"models:/{tracking.CHURN_MODEL}@{tracking.CHAMPION}").model
    clv = tracking.load_python_model(f"models:/{tracking.CLV_MODEL}@{tracking.CHAMPION}").model
    return churn, clv, str(versions[tracking.CHURN_MODEL]), str(versions[tracking.CLV_MODEL])


def score_all(settings: Settings, data: DataSet, data_dir: Path, as_of: dt.date, scored_at: dt.datetime,
              progress: Callable[[str], None] | None = None) -> tuple[Path, BatchInfo]:
    """Score every customer known at `as_of` and swap the new batch in."""
    say = progress or (lambda message: None)
    say("loading the champion models")
    churn, clv, churn_version, clv_version = load_champions(settings)
    say("computing features")
    config = FeatureConfig.from_settings(settings)
    sources = prepare_sources(feature_io.connect(), data, data_dir)
    features = sources.features_at(as_of, config).to_pandas()
    if features.empty:  # events may come before any signup; the models cannot score zero rows
        raise RetainError(f"no customer had signed up by {as_of} (the first signup is on "
                          f"{data.customers['signup_date'].min():%Y-%m-%d}): nothing to score")
    say(f"scoring {len(features):,} customers")
    scores = score_frame(features, churn, clv, settings.clv_horizon_months,  # type: ignore[arg-type]
                         settings.monthly_discount_rate, settings.medium_risk_threshold,
                         settings.high_risk_threshold)
    stamp = scored_at.strftime("%Y%m%dT%H%M%S%fZ")
    info = BatchInfo(batch_id=stamp, file=f"batch_{stamp}.parquet", as_of=as_of.isoformat(),
                     scored_at=scored_at.isoformat(), customers=len(scores), churn_model_version=churn_version,
                     clv_model_version=clv_version)
    say("writing the batch")
    return write_batch(scores, info, store_dir(data_dir)), info
