"""Two processes that use the same MLflow stores at the same moment, as two `retain train` started together do.

`contend` runs in each process (spawned, so each imports MLflow and opens the stores itself). In every round
both processes wait at a barrier, then configure the round's store, get the experiment, open a run and register
two models from it, promoting both; after a second barrier the first process reads which runs hold the
`champion` aliases. A round on a new store exercises its creation, a round on a store used before exercises
the registry step alone. The parent collects one result per process and round, so nothing depends on timing.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from pathlib import Path
from typing import Any

MODELS = ("race-churn", "race-clv")
EXPERIMENT = "race"


def store_settings(folder: Path) -> Any:
    """Settings for a local SQLite store in `folder` (created by the first `configure`)."""
    from tests.training.conftest import isolated_settings

    return isolated_settings(mlflow_tracking_uri=f"sqlite:///{folder}/mlflow.db",
                             mlflow_artifact_root=folder / "artifacts", experiment=EXPERIMENT)


def _round(folder: Path) -> str:
    """Configure, get the experiment, log a run and register both models as champion: the run's id."""
    from training import tracking

    settings = store_settings(folder)
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, EXPERIMENT, settings.mlflow_artifact_root)
    with tracking.run(experiment_id, "race", {}) as run_id:
        uri = f"runs:/{run_id}/model"
        tracking.register(client, dict.fromkeys(MODELS, uri), dict.fromkeys(MODELS, True), run_id)
    return run_id


def _champion_runs(folder: Path) -> dict[str, str | None]:
    from training import tracking

    client = tracking.configure(store_settings(folder))
    held = tracking.champions(client, MODELS)
    return {name: held[name].run_id if name in held else None for name in MODELS}


def contend(worker: int, folders: list[Path], barrier: Any, results: Any) -> None:
    """One process's part: every round in `folders` order; puts (round, worker, outcome) on `results`, where
    outcome is ("ok", run id) or ("error", traceback), and (round, "champions", {model: run id}) from worker 0."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for index, folder in enumerate(folders):
        barrier.wait()
        try:
            results.put((index, worker, ("ok", _round(folder))))
        except Exception:  # noqa: BLE001 - reported to the test, which shows it
            results.put((index, worker, ("error", traceback.format_exc())))
        barrier.wait()
        if worker == 0:
            results.put((index, "champions", _champion_runs(folder)))


def race(folders: list[Path], processes: int = 2) -> dict[int, dict[Any, Any]]:
    """Run `contend` in `processes` spawned processes over the same rounds: {round: {worker or "champions":
    outcome}}. Waits for every process (a generous timeout only guards against a hung test run)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes, timeout=300)
    results = context.Queue()
    workers = [context.Process(target=contend, args=(worker, folders, barrier, results))
               for worker in range(processes)]
    for process in workers:
        process.start()
    outcomes: dict[int, dict[Any, Any]] = {index: {} for index in range(len(folders))}
    for _ in range(len(folders) * (processes + 1)):
        index, who, outcome = results.get(timeout=600)
        outcomes[index][who] = outcome
    for process in workers:
        process.join(timeout=60)
    return outcomes
