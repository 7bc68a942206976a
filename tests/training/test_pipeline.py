"""`retain train` end to end on generated data and a real SQLite MLflow store: the gate in the real registry,
a crash that changes nothing, the registered models as MLflow loads them, and the command line.

The four training calls are the shared `training_scenario` (tests/training/conftest.py): first, worse, crash,
forced; each step's registry state is recorded right after it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

from features.rfm import RFM_COLUMNS
from retain.errors import RetainError
from retain.ingest import load
from retain.sample import read_truth, write_sample
from retain.simulate import generate
from tests.training.conftest import NEWCOMER, TrainingScenario, isolated_settings
from training import pipeline, tracking
from training.dataset import LABEL
from training.evaluation import roc_auc

CHURN, CLV = tracking.CHURN_MODEL, tracking.CLV_MODEL
RFM = list(RFM_COLUMNS)


def _versions(state: dict[str, Any], name: str) -> list[str]:
    return [v[0] for v in state[name]["versions"]]


def _test_rows(scenario: TrainingScenario) -> pd.DataFrame:
    """The test cutoff's feature rows as the feature pipeline types them (counts are integers): the registered
    model must take them as they are."""
    rows = pd.read_parquet(scenario.test_rows_path)
    assert (rows.dtypes == "int64").any()
    return rows


def test_the_first_model_beats_the_baselines_and_stays_below_the_best_achievable(
        training_scenario: TrainingScenario) -> None:
    metrics = training_scenario.steps["first"]["metrics"]
    auc = metrics["churn_test_roc_auc"]
    assert auc > metrics["baseline_one_minus_p_alive_roc_auc"]
    assert auc > metrics["baseline_logistic_rfm_roc_auc"]
    assert auc < metrics["reference_clairvoyant_roc_auc"]
    assert auc < metrics["reference_best_achievable_roc_auc"] + 0.02  # sampling noise on 2,000 customers
    assert metrics["service_features_auc_gain"] == pytest.approx(
        auc - metrics["baseline_no_service_ablation_roc_auc"])
    assert 0 < metrics["churn_rate_test"] < 1


def test_every_run_reports_the_churn_metrics_on_the_active_base_too(training_scenario: TrainingScenario) -> None:
    """Issue 13: ROC-AUC, PR-AUC, lift and ECE on the whole base and on the retention population, where the
    model must beat ranking by days since the last purchase (by 0.10 on the 20,000-customer demo; 2,000
    customers here leave room for sampling noise)."""
    metrics = training_scenario.steps["first"]["metrics"]
    for prefix in ("churn_test", "churn_retention"):
        for name in ("roc_auc", "pr_auc", "lift_top_decile", "expected_calibration_error"):
            assert np.isfinite(metrics[f"{prefix}_{name}"]), (prefix, name)
    assert 0.4 < metrics["retention_population_share"] < 0.9
    assert 0.05 < metrics["churn_rate_retention"] < metrics["churn_rate_test"]
    assert metrics["retention_auc_gain_over_recency"] > 0.05
    assert metrics["tier_high_share_retention"] == pytest.approx(0.10, abs=0.03)
    assert metrics["tier_medium_threshold"] < metrics["tier_high_threshold"]


def test_a_customer_acquired_on_the_clv_cutoff_trains_and_scores(training_scenario: TrainingScenario,
                                                                  mlflow_client: object) -> None:
    """The scenario's log has a customer whose only purchase is on as_of - 90 days (T = 0 at the CLV
    calibration cutoff); training got through, and the CLV champion gives it finite figures."""
    rows = _test_rows(training_scenario)
    newcomer = rows[rows["customer_id"] == NEWCOMER]
    assert newcomer["T"].tolist() == [0.0]

    clv = mlflow.pyfunc.load_model(f"models:/{tracking.CLV_MODEL}@{tracking.CHAMPION}")
    figures = clv.predict(newcomer[RFM].reset_index(drop=True))
    assert np.isfinite(figures.to_numpy()).all()
    assert figures["p_alive"].item() == 1.0


def test_a_worse_churn_model_is_registered_but_not_promoted(training_scenario: TrainingScenario) -> None:
    first, worse = training_scenario.steps["first"], training_scenario.steps["worse"]
    # same data, same test rows: the one-stump model is honestly worse
    assert worse["plan"] == first["plan"]
    assert worse["metrics"]["rows_test"] == first["metrics"]["rows_test"]
    assert worse["metrics"]["churn_test_roc_auc"] < first["metrics"]["churn_test_roc_auc"] - 0.05
    decision = worse["decisions"][CHURN]
    assert decision["promote"] is False
    # the champion was re-scored on this run's test rows and got exactly its own logged AUC back
    assert f"is worse than champion's {first['metrics']['churn_test_roc_auc']:.4f}" in decision["reason"]

    state = worse["registry"][CHURN]
    assert worse["versions"][CHURN] == "2"
    assert _versions(worse["registry"], CHURN) == ["1", "2"]
    assert state["aliases"] == {"champion": "1", "challenger": "2"}
    assert state["versions"][1][2] == worse["run_id"]


def test_an_equally_good_clv_model_is_promoted(training_scenario: TrainingScenario) -> None:
    """Same data, same CLV model to the last digit (the churn model's change does not touch it): the champion,
    re-measured on this run's holdout, ties exactly, and a tie promotes."""
    first, worse = training_scenario.steps["first"], training_scenario.steps["worse"]
    assert worse["metrics"]["clv_purchases_mae"] == first["metrics"]["clv_purchases_mae"]
    assert worse["decisions"][CLV]["promote"] is True
    assert "at least as good as" in worse["decisions"][CLV]["reason"]
    assert worse["registry"][CLV]["aliases"] == {"champion": "2", "challenger": "2"}


def test_force_promotes_the_worse_model(training_scenario: TrainingScenario) -> None:
    worse, forced = training_scenario.steps["worse"], training_scenario.steps["forced"]
    assert forced["metrics"]["churn_test_roc_auc"] == pytest.approx(worse["metrics"]["churn_test_roc_auc"])
    assert forced["decisions"][CHURN]["promote"] is True
    assert forced["decisions"][CHURN]["reason"].startswith("forced")
    assert forced["versions"] == {CHURN: "3", CLV: "3"}
    for name in (CHURN, CLV):
        assert _versions(forced["registry"], name) == ["1", "2", "3"]
        assert forced["registry"][name]["aliases"] == {"champion": "3", "challenger": "3"}


def test_a_crash_mid_training_changes_nothing(training_scenario: TrainingScenario,
                                              mlflow_client: Any) -> None:
    crash = training_scenario.crash
    # it failed writing the first plot, after fitting, evaluating and gating both models
    assert crash["type"] == "NotADirectoryError", crash["message"]
    assert "not-a-folder" in crash["message"]
    assert crash["after"] == crash["before"] == training_scenario.steps["worse"]["registry"]
    assert crash["before"][CHURN]["aliases"]["champion"] == "1"
    (run_id, status), = crash["runs"]
    assert status == "FAILED"
    logged = mlflow_client.get_run(run_id).data.metrics
    # it got part-way, with a churn model as good as the champion's: had it finished, the gate would have
    # promoted it (equal promotes), so the unchanged champion alias is the crash's doing, not the gate's
    assert logged["churn_test_roc_auc"] == pytest.approx(
        training_scenario.steps["first"]["metrics"]["churn_test_roc_auc"])
    registered_runs = {v.run_id for name in (CHURN, CLV)
                       for v in mlflow_client.search_model_versions(f"name = '{name}'")}
    assert run_id not in registered_runs
    # the forced run after the crash got version 3: the crash did not use up a version number
    assert training_scenario.steps["forced"]["versions"][CHURN] == "3"


def test_the_churn_champion_loads_by_alias_and_scores_the_test_rows(training_scenario: TrainingScenario,
                                                                    mlflow_client: Any) -> None:
    rows = _test_rows(training_scenario)
    assert len(rows) == training_scenario.steps["first"]["metrics"]["rows_test"]
    labels = rows[LABEL].to_numpy()
    champion = mlflow.pyfunc.load_model(f"models:/{CHURN}@champion")
    assert champion.metadata.run_id == training_scenario.steps["forced"]["run_id"]
    predicted = champion.predict(rows.drop(columns=["customer_id", "as_of", LABEL]))
    assert list(predicted.columns) == ["churn_probability"] and len(predicted) == len(rows)
    probability = predicted["churn_probability"].to_numpy()
    assert np.isfinite(probability).all() and ((probability >= 0) & (probability <= 1)).all()
    # the registered artifact reproduces the metric its run logged, for the champion and for version 1
    assert roc_auc(labels, probability) == pytest.approx(
        training_scenario.steps["forced"]["metrics"]["churn_test_roc_auc"])
    first = mlflow.pyfunc.load_model(f"models:/{CHURN}/1").predict(rows)["churn_probability"].to_numpy()
    assert roc_auc(labels, first) == pytest.approx(
        training_scenario.steps["first"]["metrics"]["churn_test_roc_auc"])


def test_the_clv_champion_returns_every_clv_figure(training_scenario: TrainingScenario,
                                                   mlflow_client: Any) -> None:
    rows = _test_rows(training_scenario)
    clv = mlflow.pyfunc.load_model(f"models:/{CLV}@champion")
    out = clv.predict(rows[RFM])
    assert list(out.columns) == ["p_alive", "expected_purchases", "expected_spend", "clv", "clv_low", "clv_high"]
    assert len(out) == len(rows) and out.notna().all().all()
    assert out["p_alive"].between(0, 1).all()
    assert (out[["expected_purchases", "expected_spend", "clv"]] >= 0).all().all()
    assert (out["expected_spend"] > 0).all()
    # a customer who has not bought for a long time is less likely alive than a just-seen repeat buyer
    stale = pd.DataFrame({"frequency": [5.0], "recency": [30.0], "T": [600.0], "monetary_value": [40.0]})
    fresh = stale.assign(recency=600.0)
    assert clv.predict(fresh)["p_alive"].iloc[0] > clv.predict(stale)["p_alive"].iloc[0]



def test_both_champions_score_a_retain_features_file_as_written(training_scenario: TrainingScenario,
                                                               mlflow_client: Any, tmp_path: Path) -> None:
    """What the README tells a data scientist to do: `retain features`, then each champion through
    `mlflow.pyfunc` on the Parquet as written (once refused: transfers_* double there, int64 in the signature)."""
    data_dir = tmp_path / "data"
    shutil.copytree(training_scenario.data_dir, data_dir)
    written = tmp_path / "features.parquet"
    done = _retain(tmp_path, "features", "--data", str(data_dir), "--as-of", CLI_AS_OF, "--out", str(written))
    assert done.returncode == 0, done.stderr
    features = pd.read_parquet(written)
    assert (features.filter(regex=r"^transfers_\d+d$").dtypes == "int64").all()

    churn = mlflow.pyfunc.load_model(f"models:/{CHURN}@champion").predict(features)
    clv = mlflow.pyfunc.load_model(f"models:/{CLV}@champion").predict(features)
    assert len(churn) == len(clv) == len(features)
    assert churn["churn_probability"].between(0, 1).all()
    assert np.isfinite(clv.to_numpy()).all() and clv["p_alive"].between(0, 1).all()

# --- the command line ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Its own small data folder, so the command-line tests need not wait for the shared scenario."""
    folder = tmp_path_factory.mktemp("cli-data")
    write_sample(generate(1000, 99), folder)
    return folder


CLI_AS_OF = "2025-12-30"  # the last day of the simulated log: the command line refuses a later --as-of


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "MLFLOW_"))}
    env.update({"RETAIN_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/store/mlflow.db",
                "RETAIN_MLFLOW_ARTIFACT_ROOT": str(tmp_path / "store" / "artifacts"),
                "RETAIN_EXPERIMENT": "cli", "RETAIN_TRAINING_CUTOFFS": "2",
                "MLFLOW_DISABLE_TELEMETRY": "true", "COLUMNS": "200"})
    return env


def _retain(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("retain")), *args]
    return subprocess.run(command, cwd=tmp_path, env=_cli_env(tmp_path), capture_output=True, text=True,
                          timeout=600)


def test_cli_train(tmp_path: Path, cli_data: Path) -> None:
    done = _retain(tmp_path, "train", "--data", str(cli_data), "--as-of", CLI_AS_OF)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Churn model on the test cutoff 2025-10-01" in out
    for row in ("churn model (XGBoost, calibrated)", "without service features (ablation)",
                "logistic regression on RFM", "1 - P(alive) from BG/NBD",
                "best achievable (true parameters)"):
        assert row in out, row
    assert "CLV holdout: purchases MAE" in out
    assert "retain-churn v1: promoted to champion (no comparable champion" in out
    assert "retain-clv v1: promoted to champion" in out
    assert "Traceback" not in done.stderr
    # everything went to the store the environment named, inside tmp_path
    assert (tmp_path / "store" / "mlflow.db").is_file()
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()
    store = f"sqlite:///{tmp_path}/store/mlflow.db"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    champion = client.get_model_version_by_alias(CHURN, "champion")
    assert str(champion.version) == "1"
    # run from a folder outside the repository, the run still names the code's commit (not "unknown")
    commit = client.get_run(champion.run_id).data.tags["git_commit"]
    in_a_repository = tracking.git_commit() != "unknown"
    assert re.fullmatch(r"[0-9a-f]{40}", commit) if in_a_repository else commit == "unknown"


def test_cli_bad_as_of_is_a_clean_error(tmp_path: Path, cli_data: Path) -> None:
    done = _retain(tmp_path, "train", "--data", str(cli_data), "--as-of", "2025-13-45")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert "error: --as-of must be a date like 2025-06-30, not '2025-13-45'" in " ".join(done.stderr.split())
    assert not (tmp_path / "store").exists()  # refused before MLflow was touched


def test_an_as_of_without_enough_history_is_refused_before_mlflow_is_touched(tmp_path: Path,
                                                                             cli_data: Path) -> None:
    settings = isolated_settings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/store/mlflow.db",
                                 mlflow_artifact_root=tmp_path / "store" / "artifacts", training_cutoffs=2)
    refused = (r"no customers with purchases at some training cutoff \(2023-04-07 .. 2023-11-03\);"
               r" --as-of needs 300 days of history before it \(the earliest training cutoff is 2023-04-07\)"
               r" and the data's first purchase is on 2024-01-01: --as-of 2024-10-27 or later")
    with pytest.raises(RetainError, match=refused):
        pipeline.train(settings, load(cli_data), cli_data, dt.date(2024, 2, 1), read_truth(cli_data))
    assert not (tmp_path / "store").exists()


def test_a_business_without_service_contacts_trains_and_scores(tmp_path: Path, cli_data: Path) -> None:
    """An export whose interactions table is empty (only its columns): every service feature reads "no
    contact", and the chain still trains, registers and scores."""
    data_dir = tmp_path / "data"
    shutil.copytree(cli_data, data_dir)
    interactions = data_dir / "interactions.parquet"
    pd.read_parquet(interactions).iloc[:0].to_parquet(interactions)
    as_of = "2025-12-29"  # the last purchase: without contacts the log ends a day earlier

    trained = _retain(tmp_path, "train", "--data", str(data_dir), "--as-of", as_of)
    assert trained.returncode == 0, trained.stderr
    assert "retain-churn v1: promoted to champion" in trained.stdout
    scored = _retain(tmp_path, "score", "--data", str(data_dir), "--as-of", as_of)
    assert scored.returncode == 0, scored.stderr
    batch = pd.read_parquet(next((data_dir / "scores").glob("batch_*.parquet")))
    customers = pd.read_parquet(data_dir / "customers.parquet")
    assert len(batch) == (customers["signup_date"] <= pd.Timestamp(as_of)).sum()  # every customer known then
    assert batch["churn_probability"].between(0, 1).all() and batch["reason_1"].notna().any()
