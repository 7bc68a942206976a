"""Shape the runs of an MLflow experiment into one comparison table, best first.

Pure pandas: the runs come from `training.tracking.experiment_runs` (columns like `mlflow.search_runs`:
`run_id`, `run_name`, `status`, `start_time`, `params.*`, `metrics.*`, `tags.*`); nothing here calls MLflow.
`retain compare` prints the table and notebooks/compare_experiments.ipynb shows and plots it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from training.tracking import Champion

SHORT_ID = 8
SORT_BY = "churn_test_roc_auc"  # higher is better
THEN_BY = "clv_purchases_mae"  # lower is better

PARAMS = ["horizon_days", "features", "churn_best_iteration", "seed", "clv_purchase_model", "clv_hybrid"]
"""Run parameters shown in the table (logged by training/pipeline.py)."""

METRICS: dict[str, tuple[str, str]] = {
    "churn_test_roc_auc": ("churn AUC", ".4f"),
    "churn_test_pr_auc": ("PR-AUC", ".4f"),
    "churn_test_expected_calibration_error": ("ECE", ".4f"),
    "churn_test_lift_top_decile": ("lift top 10%", ".2f"),
    "churn_retention_roc_auc": ("active AUC", ".4f"),
    "churn_retention_pr_auc": ("active PR-AUC", ".4f"),
    "churn_retention_expected_calibration_error": ("active ECE", ".4f"),
    "churn_retention_lift_top_decile": ("active lift 10%", ".2f"),
    "baseline_recency_retention_roc_auc": ("active recency AUC", ".4f"),
    "baseline_no_service_ablation_roc_auc": ("ablation AUC", ".4f"),
    "service_features_auc_gain": ("service gain", "+.4f"),
    "reference_best_achievable_roc_auc": ("best achievable AUC", ".4f"),
    "clv_purchases_mae": ("CLV purchases MAE", ".4f"),
    "clv_purchases_aggregate_error": ("CLV aggregate error", "+.2%"),
    "clv_spend_aggregate_error": ("CLV spend aggregate error", "+.2%"),
    "clv_interval_coverage": ("CLV 80% interval coverage", ".1%"),
    "clv_holdout_bgnbd_purchases_mae": ("BG/NBD MAE", ".4f"),
    "clv_holdout_mbgnbd_purchases_mae": ("MBG/NBD MAE", ".4f"),
    "clv_holdout_pareto_nbd_purchases_mae": ("Pareto/NBD MAE", ".4f"),
    "clv_holdout_hybrid_purchases_mae": ("hybrid MAE", ".4f"),
}
"""Metric key -> (column header, format) for the table, in display order."""

AUC_SERIES = {
    "churn model": "churn_test_roc_auc",
    "logistic RFM": "baseline_logistic_rfm_roc_auc",
    "1 - P(alive)": "baseline_one_minus_p_alive_roc_auc",
    "no service features": "baseline_no_service_ablation_roc_auc",
    "best achievable": "reference_best_achievable_roc_auc",
}
"""The churn ROC-AUCs worth plotting side by side per run: the model, its baselines and the ceiling."""

LEAD = ["run", "run_id", "started", "status", "as_of"]
COLUMNS = [*LEAD, *PARAMS, *METRICS, "champion"]
HEADERS = {"run_id": "run id", "started": "started (UTC)", "as_of": "as of", "churn_best_iteration": "trees",
           "horizon_days": "horizon", "clv_purchase_model": "CLV model", "clv_hybrid": "CLV hybrid",
           **{key: header for key, (header, _) in METRICS.items()}}
NUMERIC = {HEADERS.get(column, column) for column in [*PARAMS, *METRICS]
           if column not in ("clv_purchase_model", "clv_hybrid")}
"""Headers of the columns holding numbers (right-aligned when printed)."""


def _column(runs: pd.DataFrame, name: str) -> pd.Series:
    if name in runs.columns:
        return runs[name]
    return pd.Series(pd.NA, index=runs.index, dtype="object")


def _metric(runs: pd.DataFrame, key: str) -> pd.Series:
    return pd.to_numeric(_column(runs, f"metrics.{key}"), errors="coerce").astype("float64")


def _champion_labels(run_ids: pd.Series, champions: Iterable[Champion]) -> pd.Series:
    held: dict[str, list[str]] = {}
    for champion in champions:
        if champion.run_id:
            held.setdefault(champion.run_id, []).append(f"{champion.model.removeprefix('retain-')} "
                                                        f"v{champion.version}")
    return run_ids.map(lambda run_id: ", ".join(held.get(run_id, [])))


def comparison_table(runs: pd.DataFrame, champions: Iterable[Champion] = (),
                     limit: int | None = None) -> pd.DataFrame:
    """One row per run with the columns in `COLUMNS`, best first: highest churn test ROC-AUC, then lowest
    CLV purchases MAE, then newest; runs missing a metric go after those that have it. `champion` names the
    registered models whose champion version this run logged. `limit` keeps the best `limit` runs."""
    table = pd.DataFrame({
        "run": _column(runs, "run_name").astype("object"),
        "run_id": _column(runs, "run_id").astype("string").str.slice(0, SHORT_ID),
        "started": pd.to_datetime(_column(runs, "start_time"), utc=True),
        "status": _column(runs, "status"),
        "as_of": _column(runs, "tags.as_of").fillna(_column(runs, "params.as_of")),
        **{name: _column(runs, f"params.{name}") for name in PARAMS},
        **{key: _metric(runs, key) for key in METRICS},
        "champion": _champion_labels(_column(runs, "run_id"), champions),
    }, index=runs.index)
    table = table.sort_values([SORT_BY, THEN_BY, "started"], ascending=[False, True, False],
                              na_position="last", kind="stable")
    if limit is not None:
        table = table.head(limit)
    return table.reset_index(drop=True)[COLUMNS]


def _text(value: object, spec: str = "") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return format(value, spec) if spec else str(value)


def as_text(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of a `comparison_table` (empty cells where a value is missing)."""
    specs = {key: spec for key, (_, spec) in METRICS.items()}
    headers = [HEADERS.get(column, column) for column in table.columns]
    rows = [[_text(value, specs.get(column, "")) for column, value in zip(table.columns, row, strict=True)]
            for row in table.itertuples(index=False)]
    return headers, rows


def metric_history(runs: pd.DataFrame, series: Mapping[str, str]) -> pd.DataFrame:
    """Metrics per run in the order the runs started (oldest first), for plotting: one column per
    `series` label (metric key as value), indexed by "run name (short id)"."""
    ordered = runs.sort_values("start_time", kind="stable") if "start_time" in runs.columns else runs
    labels = (_column(ordered, "run_name").fillna("").astype(str) + " ("
              + _column(ordered, "run_id").astype("string").str.slice(0, SHORT_ID).fillna("") + ")")
    frame = pd.DataFrame({label: _metric(ordered, key) for label, key in series.items()}, index=ordered.index)
    frame.index = pd.Index(labels.to_list(), name="run")
    return frame
