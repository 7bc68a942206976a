"""`retain evaluate-actions` end to end on the training scenario's data and models: the report's structure, realized
totals that come from the replay, the MLflow run, and the command line's refusals."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retain.ingest import load
from retain.replay import DAYS_PER_MONTH, Horizons, replay_actions
from retain.sample import TRUTH_FILE, read_truth, write_sample
from retain.simulate import SampleData
from retain.world import world_at
from tests.conftest import RunMain
from tests.training.conftest import TrainingScenario
from training.action_report import REPLICATES

AS_OF = dt.date(2025, 12, 30)  # the last day of the scenario's log
EXPERIMENT = "actions"


@pytest.fixture(scope="module")
def action_settings(training_scenario: TrainingScenario, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The scenario's settings over a copy of its store, where the first (good) models are the champions again
    (the scenario ends with a forced one-tree model) and the evaluation runs go to an experiment of their own."""
    from training import tracking

    folder = tmp_path_factory.mktemp("action-store")
    source = sqlite3.connect(training_scenario.tracking_uri.removeprefix("sqlite:///"))
    copy = sqlite3.connect(folder / "mlflow.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    settings = training_scenario.settings(mlflow_tracking_uri=f"sqlite:///{folder}/mlflow.db", experiment=EXPERIMENT,
                                          mlflow_artifact_root=folder / "artifacts")
    client = tracking.configure(settings)
    for name, version in training_scenario.steps["first"]["versions"].items():
        client.set_registered_model_alias(name, tracking.CHAMPION, version)
    return settings


@pytest.fixture(scope="module")
def report(action_settings: Any, training_scenario: TrainingScenario) -> Any:
    from training.action_report import evaluate_actions

    data_dir = training_scenario.data_dir
    return evaluate_actions(action_settings, load(data_dir), data_dir, AS_OF, read_truth(data_dir))


def test_report_has_a_row_per_share_and_a_qini_curve(report: Any) -> None:
    table = report.table

    assert table["share"].tolist() == [0.01, 0.05, 0.10]
    assert table["customers"].tolist() == [int(np.ceil(s * report.customers - 1e-9)) for s in table["share"]]
    assert report.customers == len(report.frame) > 1000
    assert table[["gone_value_saved", "gone_value_at_risk"]].stack().between(0, 1).all()
    assert len(report.curve) == report.customers + 1
    assert report.curve["value_saved"].iloc[-1] == pytest.approx(report.frame["realized_value_saved"].sum())
    assert report.metrics["actions_realized_ratio_at_5pct"] == pytest.approx(
        table.loc[1, "realized_value_saved"] / table.loc[1, "realized_value_at_risk"])


def test_the_model_finds_customers_an_action_helps(report: Any) -> None:
    frame = report.frame

    assert frame["value_saved"].fillna(0).ge(0).all()
    assert frame["best_action"].notna().sum() > 10
    assert (frame.loc[frame["best_action"].isna(), "realized_value_saved"] == 0).all()
    assert report.table.loc[2, "realized_value_saved"] > 0
    without_action = frame["best_action"].isna()
    assert (frame.loc[without_action, ["predicted_churn_drop", "realized_churn_drop"]] == 0).all().all()
    assert frame.loc[~without_action, "predicted_churn_drop"].gt(0).all()  # an action is best only if it helps
    assert frame["realized_churn_drop"].between(-1, 1).all()


def test_realized_totals_come_from_the_replay(report: Any, action_settings: Any,
                                              training_scenario: TrainingScenario) -> None:
    data_dir = training_scenario.data_dir
    data, truth = load(data_dir), read_truth(data_dir)
    assert truth is not None
    horizons = Horizons(action_settings.clv_horizon_months * DAYS_PER_MONTH, action_settings.churn_horizon_days,
                        action_settings.monthly_discount_rate)
    outcomes = replay_actions(world_at(truth, data.transactions, data.interactions, AS_OF), action_settings.seed,
                              horizons, REPLICATES)
    frame = report.frame.set_index("customer_id")
    top = frame.sort_values(["value_saved", "customer_id"], ascending=[False, True], na_position="last")
    top = top.head(int(report.table.loc[2, "customers"]))

    expected = sum(outcomes.loc[customer, f"revenue_{action}"] - outcomes.loc[customer, "revenue_baseline"]
                   for customer, action in top["best_action"].items() if isinstance(action, str))

    assert report.table.loc[2, "realized_value_saved"] == pytest.approx(expected)


def test_the_run_is_logged_with_the_qini_plot(report: Any, action_settings: Any) -> None:
    from training import tracking

    client = tracking.configure(action_settings)
    run = client.get_run(report.run_id)

    assert run.info.status == "FINISHED"
    assert run.data.tags["kind"] == "evaluate-actions" and run.data.params["as_of"] == AS_OF.isoformat()
    assert run.data.metrics["actions_realized_value_saved_at_5pct"] == report.table.loc[1, "realized_value_saved"]
    artifacts = {item.path for folder in ("plots", "tables") for item in client.list_artifacts(report.run_id, folder)}
    assert artifacts == {"plots/actions_qini.png", "tables/actions_top_k.csv"}


# ---------------------------------------------------------------- the command line


def test_cli_prints_the_table(run_main: RunMain, tmp_path: Path, action_settings: Any,
                              training_scenario: TrainingScenario) -> None:
    code, out, err = run_main("evaluate-actions", "--data", training_scenario.data_dir,
                              "--as-of", AS_OF.isoformat(), RETAIN_HOME=str(tmp_path),
                              RETAIN_MLFLOW_TRACKING_URI=action_settings.mlflow_tracking_uri,
                              RETAIN_EXPERIMENT=EXPERIMENT, RETAIN_SEED=str(action_settings.seed))

    assert code == 0, out + err
    assert "Treating the top K of" in out and "value saved / value at risk" in out
    for share in ("1%", "5%", "10%"):
        assert f" {share} " in out
    assert "MLflow run" in out and "Top 5%: already gone at the cutoff" in out
    assert "Top 5% by value saved, per treated customer: churn probability drop predicted" in out


@pytest.fixture(scope="module")
def small_data(small_sample: SampleData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared small sample written to a folder (no model trained on it)."""
    folder = tmp_path_factory.mktemp("small-actions") / "data"
    write_sample(small_sample, folder)
    return folder


def test_cli_refuses_data_without_truth(run_main: RunMain, tmp_path: Path, small_data: Path) -> None:
    data_dir = tmp_path / "real"
    shutil.copytree(small_data, data_dir, ignore=shutil.ignore_patterns(TRUTH_FILE))

    code, out, err = run_main("evaluate-actions", "--data", data_dir, "--as-of", AS_OF.isoformat(),
                              RETAIN_HOME=str(tmp_path))

    assert code == 2, out + err
    assert f"no truth.parquet in {data_dir}" in err and "Traceback" not in out + err
    assert not (tmp_path / "mlruns").exists()


def test_cli_refuses_without_a_champion(run_main: RunMain, tmp_path: Path, small_data: Path) -> None:
    code, out, err = run_main("evaluate-actions", "--data", small_data, "--as-of", AS_OF.isoformat(),
                              RETAIN_HOME=str(tmp_path))

    assert code == 2, out + err
    assert "no champion for retain-churn, retain-clv" in err and "retain train" in err
    assert "Traceback" not in out + err


def test_truth_from_an_older_generator_is_a_clean_error(run_main: RunMain, tmp_path: Path, small_data: Path) -> None:
    data_dir = tmp_path / "old"
    shutil.copytree(small_data, data_dir)
    truth = pd.read_parquet(data_dir / TRUTH_FILE)
    truth.drop(columns=["service_friction"]).to_parquet(data_dir / TRUTH_FILE)

    code, out, err = run_main("evaluate-actions", "--data", data_dir, "--as-of", AS_OF.isoformat(),
                              RETAIN_HOME=str(tmp_path))

    assert code == 2, out + err
    assert "truth.parquet lacks service_friction" in err and "Traceback" not in out + err
