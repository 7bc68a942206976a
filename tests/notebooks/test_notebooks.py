"""The notebooks run top to bottom against a temporary MLflow store (never the project's mlruns/)."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from nbclient import NotebookClient

from training import tracking

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
COMPARE = NOTEBOOKS / "compare_experiments.ipynb"
EXPERIMENT = "notebook-test"


def tiny_png(path: Path, colour: str) -> Path:
    figure = Figure(figsize=(1.2, 0.8), dpi=50)
    figure.add_subplot().plot([0, 1], [0, 1], color=colour)
    figure.savefig(path)
    return path


def populate(root: Path) -> tuple[str, bytes]:
    """Two runs with metrics and plots; the second holds the churn champion, the first the CLV one.
    Returns the churn champion's run id and the bytes of its plots/churn_roc.png."""
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # leaves MLflow's process-wide URI alone
    experiment_id = tracking.ensure_experiment(client, EXPERIMENT, root / "artifacts")
    run_ids = []
    for number, (auc, mae) in enumerate([(0.71, 0.52), (0.76, 0.55)], start=1):
        run = client.create_run(experiment_id, run_name=f"train@2025-0{number}-28",
                                tags={"as_of": f"2025-0{number}-28"})
        run_id = run.info.run_id
        metrics = {"churn_test_roc_auc": auc, "baseline_logistic_rfm_roc_auc": auc - 0.04,
                   "baseline_one_minus_p_alive_roc_auc": auc - 0.06,
                   "baseline_no_service_ablation_roc_auc": auc - 0.03, "service_features_auc_gain": 0.03,
                   "reference_best_achievable_roc_auc": 0.84, "clv_purchases_mae": mae}
        client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()])
        plots = {"churn_roc": "red" if number == 2 else "blue", "clv_calibration_holdout": "green"}
        for name, colour in plots.items():
            client.log_artifact(run_id, str(tiny_png(root / f"{name}.png", colour)), "plots")
        client.set_terminated(run_id)
        run_ids.append(run_id)
    for model, run_id in ((tracking.CHURN_MODEL, run_ids[1]), (tracking.CLV_MODEL, run_ids[0])):
        client.create_registered_model(model)
        version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(model, tracking.CHAMPION, version.version)
    logged = Path(client.download_artifacts(run_ids[1], "plots/churn_roc.png", str(root)))
    return run_ids[1], logged.read_bytes()


def test_committed_notebooks_have_no_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"clear the outputs of {path.name}"


def test_compare_experiments_runs_and_shows_the_champion_plots(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    champion_run, churn_roc = populate(tmp_path)
    monkeypatch.setenv("RETAIN_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("RETAIN_EXPERIMENT", EXPERIMENT)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the figures

    notebook = nbformat.read(COMPARE, as_version=4)
    NotebookClient(notebook, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output.data["image/png"] for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 3  # two metric plots and the champions' logged plots
    assert base64.b64encode(churn_roc).decode() in [image.replace("\n", "") for image in images]
    text = "".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/markdown", ""))
                   for output in outputs)
    assert f"2 run(s) in experiment '{EXPERIMENT}'" in text
    assert f"{tracking.CHURN_MODEL} v1 (run `{champion_run}`)" in text
    assert "plots/churn_roc.png" in text and "plots/clv_calibration_holdout.png" in text
    tables = [output.data["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert tables and tables[0].index("train@2025-02-28") < tables[0].index("train@2025-01-28")
