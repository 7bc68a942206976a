"""What a training run leaves in a real (SQLite) MLflow store, and the registry's all-or-nothing step.

The run is the first step of the shared `training_scenario` (tests/training/conftest.py).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from models.btyd import PARAM_NAMES
from retain.ingest import load
from tests.training.conftest import TRAIN_AS_OF, TRAIN_CUSTOMERS, TrainingScenario, registry_state
from tests.training.store_race import race
from training import tracking

PLOTS = {"churn_roc", "churn_reliability", "churn_gains", "churn_shap_summary", "clv_calibration_holdout",
         "clv_cumulative_transactions"}
METRICS = {"churn_test_roc_auc", "churn_test_pr_auc", "churn_test_log_loss", "churn_test_brier",
           "churn_test_expected_calibration_error", "churn_test_lift_top_decile",
           "baseline_logistic_rfm_roc_auc", "baseline_one_minus_p_alive_roc_auc",
           "baseline_no_service_ablation_roc_auc", "service_features_auc_gain",
           "reference_best_achievable_roc_auc", "reference_clairvoyant_roc_auc", "clv_purchases_mae",
           "clv_purchases_rmse", "clv_purchases_aggregate_error", "clv_spend_aggregate_error", "rows_train",
           "rows_validation", "rows_test", "churn_rate_test"}


@pytest.fixture()
def first_run(training_scenario: TrainingScenario, mlflow_client: Any) -> Any:
    return mlflow_client.get_run(training_scenario.steps["first"]["run_id"])


def test_run_is_finished_in_the_scenario_store(first_run: Any, training_scenario: TrainingScenario,
                                               mlflow_client: Any) -> None:
    assert first_run.info.status == "FINISHED"
    assert first_run.info.run_name == f"train@{TRAIN_AS_OF.isoformat()}"
    assert first_run.info.artifact_uri.startswith(training_scenario.artifact_root.resolve().as_uri())
    experiment = mlflow_client.get_experiment(first_run.info.experiment_id)
    assert experiment.name == "test"
    assert experiment.artifact_location == training_scenario.artifact_root.resolve().as_uri()
    assert tracking.ensure_experiment(mlflow_client, "test", training_scenario.base / "elsewhere") == \
        experiment.experiment_id  # an existing experiment keeps its id and artifact location


def test_params(first_run: Any, training_scenario: TrainingScenario) -> None:
    params = first_run.data.params
    plan = training_scenario.steps["first"]["plan"]
    assert params["as_of"] == "2025-12-31"
    assert params["horizon_days"] == "90"
    assert params["cutoffs_train"] == ",".join(plan["train"]) == "2025-03-06,2025-04-05"
    assert params["cutoff_validation"] == plan["validation"] == "2025-07-04"
    assert params["cutoff_test"] == plan["test"] == "2025-10-02"
    assert params["seed"] == str(training_scenario.settings().seed)
    assert params["churn_max_rounds"] == "500" and params["rfm_unit"] == "D"
    assert params["churn_threads"] == "1"  # the scenario's churn_params reached the run
    assert int(params["features"]) > 50 and int(params["churn_best_iteration"]) >= 0
    names = PARAM_NAMES[params["clv_purchase_model"]]  # the purchase model chosen on the validation window
    assert {f"clv_{name}" for name in (*names, "p", "q", "v")} <= set(params)
    assert params["clv_hybrid"] in ("True", "False") and "validation" in params["clv_choice"]
    assert params["gate_retain-churn"].startswith("no comparable champion")
    assert params["gate_retain-clv"].startswith("no comparable champion")


def test_metrics_are_logged_as_reported(first_run: Any, training_scenario: TrainingScenario) -> None:
    logged = first_run.data.metrics
    reported = training_scenario.steps["first"]["metrics"]
    assert set(logged) >= METRICS
    assert logged == pytest.approx({k: v for k, v in reported.items() if pd.notna(v)})
    for name in METRICS:
        if name.endswith("roc_auc"):
            assert 0 <= logged[name] <= 1, name
    # one row per customer who had bought by each cutoff; customers keep arriving, so later cutoffs have more
    plan = training_scenario.steps["first"]["plan"]
    bought = load(training_scenario.data_dir).transactions.groupby("customer_id")["timestamp"].min()
    known_at = {day: int((bought < pd.Timestamp(day) + pd.Timedelta(days=1)).sum())
                for day in (*plan["train"], plan["validation"], plan["test"])}
    assert logged["rows_test"] == known_at[plan["test"]] > logged["rows_validation"] == known_at[plan["validation"]]
    assert logged["rows_train"] == sum(known_at[day] for day in plan["train"])  # two training cutoffs


def test_plots_are_artifacts(first_run: Any, mlflow_client: Any) -> None:
    stored = {a.path: a.file_size for a in mlflow_client.list_artifacts(first_run.info.run_id, "plots")}
    assert set(stored) == {f"plots/{name}.png" for name in PLOTS}
    assert all(size > 1000 for size in stored.values())


def test_tags_name_the_code_and_the_data(first_run: Any, training_scenario: TrainingScenario) -> None:
    tags = first_run.data.tags
    data = load(training_scenario.data_dir)
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", tags["git_commit"])
    assert tags["as_of"] == "2025-12-31"
    assert tags["customers"] == str(len(data.customers)) == str(TRAIN_CUSTOMERS + 1)  # + the newcomer
    assert tags["transactions"] == str(len(data.transactions))
    assert tags["interactions"] == str(len(data.interactions))
    lineage = tracking.table_digest({"customers": data.customers, "transactions": data.transactions,
                                     "interactions": data.interactions}, "2025-12-31")
    assert tags["data_digest"] == lineage["digest"].iloc[-1]


def test_dataset_input_records_the_lineage(first_run: Any, training_scenario: TrainingScenario) -> None:
    inputs = first_run.inputs.dataset_inputs
    assert len(inputs) == 1
    dataset = inputs[0].dataset
    assert dataset.name == "all@2025-12-31"
    assert str(training_scenario.data_dir.resolve()) in dataset.source
    assert {tag.key: tag.value for tag in inputs[0].tags}["mlflow.data.context"] == "training"
    data = load(training_scenario.data_dir)
    lineage = tracking.table_digest({"customers": data.customers, "transactions": data.transactions,
                                     "interactions": data.interactions}, "2025-12-31")
    with warnings.catch_warnings():  # as in tracking.log_lineage: an ambiguous local source class
        warnings.simplefilter("ignore", UserWarning)
        expected = mlflow.data.from_pandas(lineage, source=str(training_scenario.data_dir.resolve()))
    assert dataset.digest == expected.digest  # the logged lineage table is this data's
    assert '"num_rows": 4' in dataset.profile  # one row per table plus the combined digest


def test_table_digest_follows_content_and_cutoff() -> None:
    a = pd.DataFrame({"x": [1, 2, 3]})
    b = pd.DataFrame({"x": [1, 2, 4]})
    base = tracking.table_digest({"t": a}, "2025-01-01")
    assert list(base["table"]) == ["t", "all@2025-01-01"] and list(base["rows"]) == [3, 3]
    assert base.equals(tracking.table_digest({"t": a.copy()}, "2025-01-01"))
    assert base["digest"].iloc[0] != tracking.table_digest({"t": b}, "2025-01-01")["digest"].iloc[0]
    assert base["digest"].iloc[-1] != tracking.table_digest({"t": a}, "2025-01-02")["digest"].iloc[-1]


def test_first_run_registers_both_models_as_champion(training_scenario: TrainingScenario) -> None:
    first = training_scenario.steps["first"]
    assert first["versions"] == {tracking.CHURN_MODEL: "1", tracking.CLV_MODEL: "1"}
    for name in (tracking.CHURN_MODEL, tracking.CLV_MODEL):
        state = first["registry"][name]
        assert [(v[0], v[2], v[3]) for v in state["versions"]] == [("1", first["run_id"], "READY")]
        assert state["aliases"] == {"champion": "1", "challenger": "1"}
        assert first["decisions"][name]["promote"] is True


@pytest.mark.parametrize(("name", "outputs"), [
    (tracking.CHURN_MODEL, ["churn_probability"]),
    (tracking.CLV_MODEL, ["p_alive", "expected_purchases", "expected_spend", "clv", "clv_low", "clv_high"]),
])
def test_logged_models_have_signature_and_input_example(training_scenario: TrainingScenario,
                                                        mlflow_client: Any, name: str,
                                                        outputs: list[str]) -> None:
    source = training_scenario.steps["first"]["registry"][name]["versions"][0][1]
    info = mlflow.models.get_model_info(source)
    assert info.run_id == training_scenario.steps["first"]["run_id"]
    assert info.signature is not None
    assert info.signature.outputs.input_names() == outputs
    assert info.saved_input_example_info is not None
    model = mlflow.pyfunc.load_model(f"models:/{name}/1")
    example = model.input_example
    assert isinstance(example, pd.DataFrame) and len(example) == 5
    assert list(example.columns) == info.signature.inputs.input_names()
    assert list(model.predict(example).columns) == outputs
    if name == tracking.CHURN_MODEL:
        assert {"frequency", "segment", "sentiment_last", "ces_mean_90d"} <= set(example.columns)
    else:  # RFM, then the hybrid's service features when it won; those may be left out
        assert list(example.columns)[:4] == ["frequency", "recency", "T", "monetary_value"]
        optional = [c.name for c in info.signature.inputs.inputs if not c.required]
        assert optional == list(example.columns)[4:]
        assert model.predict(example[["frequency", "recency", "T", "monetary_value"]]).notna().all().all()
    requirements = Path(mlflow.pyfunc.get_model_dependencies(f"models:/{name}/1")).read_text().split()
    assert "xgboost-cpu==3.2.0" in requirements
    assert not [r for r in requirements if re.match(r"xgboost\b(?!-cpu)", r)]  # not the 469 MB GPU wheel


# --- tracking.register: all or nothing ---------------------------------------------------------------------

def _valid_uri(training_scenario: TrainingScenario) -> str:
    return str(training_scenario.steps["first"]["registry"][tracking.CHURN_MODEL]["versions"][0][1])


def test_register_rolls_back_a_new_version_when_another_fails(training_scenario: TrainingScenario,
                                                              mlflow_client: Any) -> None:
    run_id = training_scenario.steps["first"]["run_id"]
    uri = _valid_uri(training_scenario)
    created = tracking.register(mlflow_client, {"rollback-a": uri}, {"rollback-a": True}, run_id)
    assert created == {"rollback-a": "1"}
    before = registry_state(mlflow_client, ("rollback-a", "rollback-b"))
    assert before["rollback-a"]["aliases"] == {"champion": "1", "challenger": "1"}

    with pytest.raises(MlflowException, match="m-does-not-exist"):
        tracking.register(mlflow_client, {"rollback-a": uri, "rollback-b": "models:/m-does-not-exist"},
                          {"rollback-a": True, "rollback-b": True}, run_id)
    after = registry_state(mlflow_client, ("rollback-a", "rollback-b"))
    assert after["rollback-a"] == before["rollback-a"]  # version 2 was created, then deleted
    assert mlflow_client.get_registered_model("rollback-a").aliases == {"champion": 1, "challenger": 1}
    assert after["rollback-b"] is None  # the registered model it created is gone too
    assert tracking.champion_uri(mlflow_client, "rollback-b") is None


def test_register_restores_aliases_moved_before_the_failure(training_scenario: TrainingScenario,
                                                            mlflow_client: Any) -> None:
    """Here the failure comes after `champion` and `challenger` already moved to the new versions."""
    run_id = training_scenario.steps["first"]["run_id"]
    uri = _valid_uri(training_scenario)
    names = ("rollback-c", "rollback-d")
    tracking.register(mlflow_client, dict.fromkeys(names, uri), dict.fromkeys(names, True), run_id)
    before = registry_state(mlflow_client, names)

    with pytest.raises(KeyError, match="rollback-d"):  # no promotion decision for the second model
        tracking.register(mlflow_client, dict.fromkeys(names, uri), {"rollback-c": True}, run_id)
    assert registry_state(mlflow_client, names) == before
    assert tracking.champion_uri(mlflow_client, "rollback-c") == "models:/rollback-c/1"  # pinned
    assert str(mlflow_client.get_model_version_by_alias("rollback-c", "champion").version) == "1"

    # and the same call with every decision made succeeds, creating version 2 as challenger only
    # (version numbers deleted by a rollback are not handed out again)
    created = tracking.register(mlflow_client, dict.fromkeys(names, uri),
                                {"rollback-c": False, "rollback-d": True}, run_id)
    state = registry_state(mlflow_client, names)
    for name in names:
        assert created[name] not in {v[0] for v in before[name]["versions"]}
        assert [v[0] for v in state[name]["versions"]] == ["1", created[name]]
    assert state["rollback-c"]["aliases"] == {"champion": "1", "challenger": created["rollback-c"]}
    assert state["rollback-d"]["aliases"] == dict.fromkeys(("champion", "challenger"), created["rollback-d"])


# --- two processes at once on one local store (see tests/training/store_race.py) ---------------------------

NEW_STORE_ROUNDS = 3
EXISTING_STORE_ROUNDS = 4


@pytest.fixture(scope="module")
def raced(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, dict[Any, Any]], int]:
    """Two processes in step: first on new stores (creating each at once), then on those existing stores."""
    base = tmp_path_factory.mktemp("race")
    new = [base / f"store{index}" for index in range(NEW_STORE_ROUNDS)]
    existing = [new[index % NEW_STORE_ROUNDS] for index in range(EXISTING_STORE_ROUNDS)]
    return race([*new, *existing]), NEW_STORE_ROUNDS


def _assert_both_finished_with_one_champion_run(outcomes: dict[Any, Any]) -> None:
    for worker in (0, 1):
        status, detail = outcomes[worker]
        assert status == "ok", f"process {worker} failed:\n{detail}"
    champions = outcomes["champions"]
    assert set(champions.values()) <= {outcomes[0][1], outcomes[1][1]}
    assert len(set(champions.values())) == 1, f"champions from different runs: {champions}"


def test_two_processes_creating_a_new_store_both_finish(raced: tuple[dict[int, dict[Any, Any]], int]) -> None:
    outcomes, new_rounds = raced
    for index in range(new_rounds):
        _assert_both_finished_with_one_champion_run(outcomes[index])


def test_concurrent_registrations_on_an_existing_store_promote_one_run(
        raced: tuple[dict[int, dict[Any, Any]], int]) -> None:
    outcomes, new_rounds = raced
    for index in range(new_rounds, len(outcomes)):
        _assert_both_finished_with_one_champion_run(outcomes[index])
