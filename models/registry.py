"""Reading the model registry: which versions are champions, and loading exactly those versions.

The read side of MLflow, shared by training (to compare with the champion), the batch job and the API;
`training.tracking` holds the write side (runs, logging, registration). A champion is loaded by its pinned
version (`models:/name/<version>`), never by alias, so the version a caller reports is the one it loaded even
if a promotion happens in between.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.catalogue import Feature
from models.artifacts import CHURN_FILES, CLV_FILES, artifacts_in, load_churn, load_clv
from models.churn import ChurnModel
from models.clv import ClvModel
from models.population import RetentionPopulation, TierThresholds
from models.scoring import Scorer
from retain.errors import RetainError
from retain.settings import Settings

CHURN_MODEL = "retain-churn"
CLV_MODEL = "retain-clv"
CHAMPION = "champion"
CHALLENGER = "challenger"


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on `<database>.lock` beside a local SQLite store (no-op for any other store).

    A lock file of its own, not the database: SQLite's locks cover one statement or transaction, while MLflow
    creates a new store's tables over many, and a registration is several independent calls. An existing store
    in a folder this process may not write to (served from a read-only mount) is used without the lock: such a
    process can neither create the store nor register into it.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    database = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = open(database.with_name(database.name + ".lock"), "a")  # noqa: SIM115 - the `with` below closes it
    except OSError:
        if not database.is_file():
            raise
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also if the process dies
        yield


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow at the settings' store; a new local SQLite store is created here, by one process at a time.

    MLflow creates a store's tables on first use; opening both stores (tracking and registry) under the lock
    lets the first process create them and the others find them. MLflow caches the opened stores per process.
    """
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = settings.mlflow_tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with store_lock(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # opens the tracking store
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    return client


def alias_version(client: MlflowClient, model_name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def champion_version(client: MlflowClient, model_name: str) -> str | None:
    return alias_version(client, model_name, CHAMPION)


def _download(client: MlflowClient, name: str, version: str, folder: Path) -> Path:
    return Path(download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(folder),
                                   tracking_uri=client.tracking_uri))


def load_churn_version(client: MlflowClient, version: str) -> ChurnModel:
    with tempfile.TemporaryDirectory(prefix="retain-churn-") as folder:
        return load_churn(artifacts_in(_download(client, CHURN_MODEL, version, Path(folder)), CHURN_FILES))


def load_clv_version(client: MlflowClient, version: str) -> ClvModel:
    with tempfile.TemporaryDirectory(prefix="retain-clv-") as folder:
        return load_clv(artifacts_in(_download(client, CLV_MODEL, version, Path(folder)), CLV_FILES))


@dataclass(frozen=True)
class Champions:
    """Both champion models and the registry versions they were loaded from."""

    churn: ChurnModel
    clv: ClvModel
    churn_version: str
    clv_version: str


def load_champions(settings: Settings) -> Champions:
    """The models behind the `champion` aliases, each loaded by the version the alias pointed at."""
    client = configure(settings)
    versions = {name: champion_version(client, name) for name in (CHURN_MODEL, CLV_MODEL)}
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        raise RetainError(f"no champion for {', '.join(missing)} in {settings.mlflow_tracking_uri}; "
                          "run `retain train` first")
    churn_version, clv_version = str(versions[CHURN_MODEL]), str(versions[CLV_MODEL])
    return Champions(load_churn_version(client, churn_version), load_clv_version(client, clv_version),
                     churn_version, clv_version)


def champion_scorer(settings: Settings, features: Mapping[str, Feature]) -> Scorer:
    """The scoring core over the champions (each by its pinned version), with the settings scoring needs and
    the feature catalogue for reason wording."""
    champions = load_champions(settings)
    return Scorer(champions.churn, champions.clv, champions.churn_version, champions.clv_version,
                  settings.clv_horizon_months, settings.monthly_discount_rate,
                  tier_thresholds(settings, champions.churn), retention_population(settings), features)


def retention_population(settings: Settings) -> RetentionPopulation:
    return RetentionPopulation(settings.retention_recent_days, settings.retention_min_p_alive)


def tier_thresholds(settings: Settings, churn: ChurnModel) -> TierThresholds:
    """Fixed thresholds when both are set, else those measured with the model; a model trained before tiers
    were measured gets the old fixed 0.3 / 0.6."""
    if settings.medium_risk_threshold is not None and settings.high_risk_threshold is not None:
        return TierThresholds(settings.medium_risk_threshold, settings.high_risk_threshold)
    return churn.thresholds or TierThresholds(medium=0.3, high=0.6)
