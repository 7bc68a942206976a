"""The write side of MLflow: logging a run, registering and promoting models, and reading runs back for
`retain compare`. Configuring the store and loading champions is `models.registry` (the read side that
serving shares).

The default store is SQLite under `$RETAIN_HOME/mlruns/` with artifacts beside it; a team points
`MLFLOW_TRACKING_URI` (or `RETAIN_MLFLOW_TRACKING_URI`) at a shared server instead. Registry stages are
deprecated: versions get aliases, `challenger` for the newest and `champion` for the one served.

Two processes may use one local store at once (two `retain train` started together, a `retain score` during a
training): MLflow creates a new SQLite store's tables without any lock, so two first uses break each other,
and a registration moves two aliases one at a time, so two at once can leave the champions from different
runs. Both steps therefore hold an exclusive lock on a file next to the database (`store_lock`). A tracking
server serialises nothing of this kind for us; the lock only covers local SQLite stores.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, Schema

from models.registry import CHALLENGER, CHAMPION, CHURN_MODEL, CLV_MODEL, alias_version, configure, store_lock
from retain.errors import RetainError
from retain.settings import Settings

__all__ = ["CHALLENGER", "CHAMPION", "CHURN_MODEL", "CLV_MODEL", "configure"]  # the registry names, re-exported
PIP_REQUIREMENTS = ["xgboost-cpu==3.2.0", "lifetimes==0.11.3", "pandas", "numpy", "scikit-learn", "pydantic"]


def ensure_experiment(client: MlflowClient, name: str, artifact_root: Path) -> str:
    """The experiment's id, creating it with artifacts under `artifact_root` when new (under the store's lock,
    so two first runs do not both try to create it)."""
    with store_lock(client.tracking_uri):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(client.create_experiment(name, artifact_location=Path(artifact_root).resolve().as_uri()))


@contextmanager
def run(experiment_id: str, run_name: str, tags: Mapping[str, str]) -> Iterator[str]:
    """A tracked run; an exception inside marks it FAILED and propagates."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags)) as active:
        yield active.info.run_id


def git_commit() -> str:
    """The commit of this code (asked where this file is, not in the caller's working directory)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=5, cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def table_digest(frames: Mapping[str, pd.DataFrame], as_of: str) -> pd.DataFrame:
    """Per input table: rows and a content digest; the last row digests all of them with `as_of`."""
    names, counts, digests = [], [], []
    for name, frame in frames.items():
        names.append(name)
        counts.append(len(frame))
        digests.append(hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest())
    names.append(f"all@{as_of}")
    counts.append(sum(counts))
    digests.append(hashlib.sha256((as_of + "".join(digests)).encode()).hexdigest())
    return pd.DataFrame({"table": names, "rows": counts, "digest": digests})


def log_lineage(lineage: pd.DataFrame, source: str) -> None:
    """Record which data (and cutoff) the run was trained on, as an MLflow dataset input."""
    digest = str(lineage["digest"].iloc[-1])
    with warnings.catch_warnings():  # MLflow's hints about local sources and int columns do not apply here
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
            lineage, source=source, name=str(lineage["table"].iloc[-1]))
        mlflow.log_input(dataset, context="training")
    mlflow.set_tag("data_digest", digest)


def log_params(params: Mapping[str, Any]) -> None:
    mlflow.log_params({key: str(value)[:500] for key, value in params.items()})


def log_metrics(metrics: Mapping[str, float]) -> None:
    mlflow.log_metrics({key: float(value) for key, value in metrics.items() if pd.notna(value)})


def log_figure(figure: Figure, name: str) -> None:
    mlflow.log_figure(figure, f"plots/{name}.png")


def log_table(table: pd.DataFrame, name: str) -> None:
    """A small result table as a CSV artifact `tables/<name>`, to read beside the metrics."""
    mlflow.log_text(table.to_csv(index=False), f"tables/{name}")


def log_pyfunc(name: str, python_model: PythonModel, artifacts: dict[str, str],
               signature_input: pd.DataFrame, signature_output: pd.DataFrame, examples: int = 5,
               optional: Sequence[str] = ()) -> str:
    """Log a pyfunc model; its signature is inferred from a sample large enough to see every column's type and
    which ones may be missing (and the `optional` columns may always be left out), its input example is the
    first few rows. Returns the model URI (unregistered)."""
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)  # its cloudpickle notice is about our own class
    with warnings.catch_warnings():  # integer columns are counts, 0 without events: never missing
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
        signature = infer_signature(signature_input, signature_output)
    if optional and signature.inputs is not None:
        signature = ModelSignature(Schema([ColSpec(c.type, c.name, required=False) if c.name in optional else c
                                           for c in signature.inputs.inputs]), signature.outputs)
    info = mlflow.pyfunc.log_model(
        name=name, python_model=python_model, artifacts=artifacts, signature=signature,
        input_example=signature_input.head(examples), pip_requirements=PIP_REQUIREMENTS,
    )
    return str(info.model_uri)


def champion_uri(client: MlflowClient, model_name: str) -> str | None:
    """`models:/name/<version>` of the current champion, pinned, if there is one."""
    version = alias_version(client, model_name, CHAMPION)
    return f"models:/{model_name}/{version}" if version else None


def register(client: MlflowClient, model_uris: Mapping[str, str], promote: Mapping[str, bool],
             run_id: str) -> dict[str, str]:
    """Register each model as a new version tagged `challenger`, and move `champion` where promoted.

    All or nothing: if any step fails, versions and registered models created here are deleted and aliases
    restored. One registration at a time on a local store (`store_lock`), so concurrent trainings that both
    promote leave every champion with the same run, the last one registered.
    """
    with store_lock(client.tracking_uri):
        return _register(client, model_uris, promote, run_id)


def _register(client: MlflowClient, model_uris: Mapping[str, str], promote: Mapping[str, bool],
              run_id: str) -> dict[str, str]:
    created: dict[str, str] = {}
    new_models: list[str] = []
    previous = {(name, alias): alias_version(client, name, alias)
                for name in model_uris for alias in (CHAMPION, CHALLENGER)}
    try:
        for name, uri in model_uris.items():
            if not client.search_registered_models(filter_string=f"name = '{name}'"):
                client.create_registered_model(name)
                new_models.append(name)
            created[name] = str(client.create_model_version(name, uri, run_id=run_id).version)
        for name, version in created.items():
            client.set_registered_model_alias(name, CHALLENGER, version)
            if promote[name]:
                client.set_registered_model_alias(name, CHAMPION, version)
    except BaseException:
        for name, version in created.items():
            client.delete_model_version(name, version)
        for name in new_models:
            client.delete_registered_model(name)
        for (name, alias), old_version in previous.items():
            if old_version is not None:
                client.set_registered_model_alias(name, alias, old_version)
        raise
    return created


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="retain-model-")


# Reading runs back (`retain compare`, notebooks/compare_experiments.ipynb). Read-only: nothing below writes.

RUN_COLUMNS = ["run_id", "run_name", "status", "start_time", "end_time", "artifact_uri"]


@dataclass(frozen=True)
class Champion:
    """Which registered version holds a model's `champion` alias, and the run that logged it."""

    model: str
    version: str
    run_id: str | None


def open_store(settings: Settings) -> MlflowClient:
    """`configure(settings)` for reading: a missing local SQLite store is an error, not created."""
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise RetainError(f"no MLflow store at {uri}: train a model first (`retain train --as-of ...`) "
                          "or point RETAIN_MLFLOW_TRACKING_URI at the store")
    return configure(settings)


def experiment_runs(client: MlflowClient, experiment: str, max_results: int = 5000) -> pd.DataFrame:
    """Every run of `experiment`, newest first, one row each, shaped like `mlflow.search_runs`: run_id,
    run_name, status, start_time/end_time (UTC), artifact_uri, then `params.*`, `metrics.*` (latest values)
    and `tags.*` columns. A missing (or deleted) experiment raises RetainError naming the ones there are."""
    found = client.get_experiment_by_name(experiment)
    if found is None or found.lifecycle_stage != "active":
        names = sorted(e.name for e in client.search_experiments())
        raise RetainError(f"no MLflow experiment named {experiment!r} in {client.tracking_uri} "
                          f"(experiments there: {', '.join(names) or 'none'}); choose one with --experiment "
                          "or RETAIN_EXPERIMENT")
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while len(rows) < max_results:
        page = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"],
                                  max_results=min(1000, max_results - len(rows)), page_token=token)
        for found_run in page:
            info, data = found_run.info, found_run.data
            rows.append({"run_id": info.run_id, "run_name": info.run_name, "status": info.status,
                         "start_time": info.start_time, "end_time": info.end_time,
                         "artifact_uri": info.artifact_uri,
                         **{f"params.{k}": v for k, v in data.params.items()},
                         **{f"metrics.{k}": v for k, v in data.metrics.items()},
                         **{f"tags.{k}": v for k, v in data.tags.items()}})
        token = page.token
        if not token:
            break
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS) if not rows else pd.DataFrame(rows)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    extra = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    return frame[RUN_COLUMNS + extra]


def champions(client: MlflowClient,
              model_names: tuple[str, ...] = (CHURN_MODEL, CLV_MODEL)) -> dict[str, Champion]:
    """The version and source run behind each model's `champion` alias (models without one are left out)."""
    found: dict[str, Champion] = {}
    for name in model_names:
        try:
            version = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            continue
        found[name] = Champion(name, str(version.version), version.run_id)
    return found


def download_plots(client: MlflowClient, run_id: str, destination: Path, prefix: str = "") -> list[Path]:
    """Download the run's `plots/<prefix>*.png` artifacts into `destination`; sorted local paths."""
    wanted = [item.path for item in client.list_artifacts(run_id, "plots")
              if not item.is_dir and item.path.endswith(".png") and Path(item.path).name.startswith(prefix)]
    Path(destination).mkdir(parents=True, exist_ok=True)
    return sorted(Path(client.download_artifacts(run_id, path, str(destination))) for path in wanted)
