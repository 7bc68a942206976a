"""Comparing tracked runs: the table's shape and order, and `retain compare` over a real temporary store."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from rich.console import Console

from retain.errors import RetainError
from retain.settings import Settings
from training import experiments, tracking

SCRIPT = Path(sys.executable).parent / "retain"
MAIN = "from retain.cli import main; main()"
EXPERIMENT = "compare-test"

# name -> (churn test ROC-AUC, CLV purchases MAE); best first: run-c (tie on AUC, lower MAE), run-b, run-a
RUNS = {"run-a": (0.70, 0.50), "run-b": (0.80, 0.60), "run-c": (0.80, 0.40)}


def settings_for(root: Path, experiment: str = EXPERIMENT) -> Settings:
    return Settings(mlflow_tracking_uri=f"sqlite:///{root}/mlflow.db",
                    mlflow_artifact_root=root / "artifacts", experiment=experiment)


def client_for(settings: Settings) -> MlflowClient:
    """A client on the temporary store, without touching MLflow's process-wide tracking URI."""
    uri = settings.mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def log_run(client: MlflowClient, experiment_id: str, name: str, as_of: str, auc: float, mae: float) -> str:
    run = client.create_run(experiment_id, run_name=name, tags={"as_of": as_of})
    metrics = {"churn_test_roc_auc": auc, "churn_test_pr_auc": auc - 0.3,
               "churn_test_expected_calibration_error": 0.02, "churn_test_lift_top_decile": 2.5,
               "baseline_no_service_ablation_roc_auc": auc - 0.05, "service_features_auc_gain": 0.05,
               "reference_best_achievable_roc_auc": 0.9, "clv_purchases_mae": mae,
               "clv_purchases_aggregate_error": -0.0123}
    params = {"as_of": as_of, "horizon_days": "90", "features": "42", "churn_best_iteration": "17",
              "seed": "7"}
    client.log_batch(run.info.run_id, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in params.items()])
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def make_champion(client: MlflowClient, model: str, run_id: str) -> None:
    """A registered version of `model` from `run_id` holding the champion alias (no model files needed)."""
    if not client.search_registered_models(filter_string=f"name = '{model}'"):
        client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, tracking.CHAMPION, version.version)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A temporary SQLite store with the runs of RUNS; run-b holds the churn champion, run-c the CLV one."""
    root = tmp_path_factory.mktemp("mlflow")
    settings = settings_for(root)
    client = client_for(settings)
    experiment_id = tracking.ensure_experiment(client, settings.experiment, settings.mlflow_artifact_root)
    ids = {name: log_run(client, experiment_id, name, f"2025-0{i + 1}-28", auc, mae)
           for i, (name, (auc, mae)) in enumerate(RUNS.items())}
    make_champion(client, tracking.CHURN_MODEL, ids["run-b"])
    make_champion(client, tracking.CLV_MODEL, ids["run-c"])
    return root, ids


def retain(*args: str, root: Path, experiment: str = EXPERIMENT) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-c", MAIN]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("RETAIN_") and key != "MLFLOW_TRACKING_URI"}
    env.update({"RETAIN_MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
                "RETAIN_MLFLOW_ARTIFACT_ROOT": str(root / "artifacts"), "RETAIN_EXPERIMENT": experiment,
                "MLFLOW_DISABLE_TELEMETRY": "true", "COLUMNS": "250", "NO_COLOR": "1"})
    return subprocess.run([*command, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_table_is_best_first_with_the_champions_marked(store: tuple[Path, dict[str, str]]) -> None:
    root, ids = store
    client = client_for(settings_for(root))
    runs = tracking.experiment_runs(client, EXPERIMENT)
    table = experiments.comparison_table(runs, tracking.champions(client).values())

    assert list(table.columns) == experiments.COLUMNS
    assert list(table["run"]) == ["run-c", "run-b", "run-a"]
    assert list(table["run_id"]) == [ids[name][:8] for name in ("run-c", "run-b", "run-a")]
    assert list(table["champion"]) == ["clv v1", "churn v1", ""]
    assert list(table["churn_test_roc_auc"]) == [0.80, 0.80, 0.70]
    assert list(table["as_of"]) == ["2025-03-28", "2025-02-28", "2025-01-28"]
    assert table["started"].dt.tz is not None
    assert list(experiments.comparison_table(runs, limit=2)["run"]) == ["run-c", "run-b"]

    headers, rows = experiments.as_text(table)
    assert headers[:2] == ["run", "run id"] and "churn AUC" in headers and "CLV aggregate error" in headers
    cells = dict(zip(headers, rows[0], strict=True))
    assert (cells["churn AUC"], cells["CLV purchases MAE"], cells["CLV aggregate error"]) == (
        "0.8000", "0.4000", "-1.23%")


def test_runs_missing_a_metric_go_last() -> None:
    runs = pd.DataFrame({
        "run_id": ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd"],
        "run_name": ["no-metrics", "old", "new", "no-clv"],
        "status": ["FAILED", "FINISHED", "FINISHED", "FINISHED"],
        "start_time": pd.to_datetime(["2025-01-04", "2025-01-01", "2025-01-02", "2025-01-03"], utc=True),
        "metrics.churn_test_roc_auc": [None, 0.75, 0.75, 0.75],
        "metrics.clv_purchases_mae": [None, 0.3, 0.3, None],
    })
    table = experiments.comparison_table(runs)
    assert list(table["run"]) == ["new", "old", "no-clv", "no-metrics"]
    assert table["service_features_auc_gain"].isna().all()  # never logged: still a column, empty
    _, rows = experiments.as_text(table)
    assert rows[-1][experiments.COLUMNS.index("churn_test_roc_auc")] == ""


def test_metric_history_is_in_start_order(store: tuple[Path, dict[str, str]]) -> None:
    root, ids = store
    runs = tracking.experiment_runs(client_for(settings_for(root)), EXPERIMENT)
    history = experiments.metric_history(runs, experiments.AUC_SERIES)
    assert list(history.index) == [f"{name} ({ids[name][:8]})" for name in RUNS]
    assert list(history["churn model"]) == [auc for auc, _ in RUNS.values()]
    assert history["logistic RFM"].isna().all()


def test_missing_experiment_and_store_are_user_errors(store: tuple[Path, dict[str, str]],
                                                      tmp_path: Path) -> None:
    root, _ = store
    with pytest.raises(RetainError, match=f"'nope'.*experiments there: .*{EXPERIMENT}"):
        tracking.experiment_runs(client_for(settings_for(root)), "nope")
    with pytest.raises(RetainError, match="no MLflow store"):
        tracking.open_store(settings_for(tmp_path / "absent"))
    assert not (tmp_path / "absent").exists()


def test_retain_compare_prints_the_runs_best_first(store: tuple[Path, dict[str, str]]) -> None:
    root, ids = store
    result = retain("compare", root=root)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "3 of 3 run(s), best first" in out
    assert out.index("run-c") < out.index("run-b") < out.index("run-a")
    for header in ("churn AUC", "PR-AUC", "ECE", "service gain", "best achievable AUC", "CLV purchases MAE"):
        assert header in out
    assert ids["run-c"][:8] in out and "2025-03-28" in out and "-1.23%" in out
    assert f"retain-churn champion: v1, run {ids['run-b'][:8]} (run-b)" in out
    assert f"retain-clv champion: v1, run {ids['run-c'][:8]} (run-c)" in out

    limited = retain("compare", "--limit", "1", root=root)
    assert limited.returncode == 0, limited.stderr
    assert "1 of 3 run(s)" in limited.stdout and "run-a" not in limited.stdout


def test_a_narrow_terminal_gets_the_runs_as_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from retain import cli

    table = experiments.comparison_table(pd.DataFrame({
        "run_id": [f"{i}" * 32 for i in range(5)], "run_name": [f"train@2025-0{i + 1}-28" for i in range(5)],
        "start_time": pd.to_datetime(["2025-06-01"] * 5, utc=True),
        "metrics.churn_test_roc_auc": [0.70, 0.74, 0.72, 0.71, 0.73]}))
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=80))
    cli._print_runs("runs", *experiments.as_text(table), experiments.NUMERIC)
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 80
    assert "#1" in out.getvalue() and "#5" in out.getvalue()
    auc = [line for line in lines if line.startswith("│ churn AUC")]
    assert [cell.strip() for line in auc for cell in line.split("│")[2:-1]] == [
        "0.7400", "0.7300", "0.7200", "0.7100", "0.7000"]


def test_in_a_pipe_the_runs_are_rows_however_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from retain import cli
    from retain.terminal import Output

    table = experiments.comparison_table(pd.DataFrame({
        "run_id": [f"{i}" * 32 for i in range(5)], "run_name": [f"train@2025-0{i + 1}-28" for i in range(5)],
        "start_time": pd.to_datetime(["2025-06-01"] * 5, utc=True),
        "metrics.churn_test_roc_auc": [0.70, 0.74, 0.72, 0.71, 0.73]}))
    out = io.StringIO()  # not a terminal
    monkeypatch.setattr(cli, "console", Output(file=out))
    cli._print_runs("runs", *experiments.as_text(table), experiments.NUMERIC)
    rows = [line for line in out.getvalue().splitlines() if "train@2025-0" in line]
    assert len(rows) == 5 and "#1" not in out.getvalue()
    assert "0.7400" in rows[0] and "train@2025-02-28" in rows[0]  # best first, every value on its run's line


def test_retain_compare_of_an_unknown_experiment_is_a_clean_error(store: tuple[Path, dict[str, str]]) -> None:
    root, _ = store
    result = retain("compare", "--experiment", "no-such-experiment", root=root)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "no MLflow experiment named 'no-such-experiment'" in result.stderr
