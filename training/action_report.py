"""`retain evaluate-actions`: the champion models' predicted value saved, proven on simulated ground truth.

Scores every customer at the cutoff with the one scoring core (as `retain score` does), replays the simulated
world's future from the cutoff with and without each action (`retain.replay`), compares the rankings by
predicted value saved and by value at risk on what treating their top K realizes (`training.action_evaluation`),
and logs the figures and the Qini plot as a run of the experiment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd

from features import io as feature_io
from features.build import FeatureConfig, catalogue
from features.snapshot import prepare_sources
from models.registry import champion_scorer
from models.scoring import FeatureBlock, score
from retain.actions import ACTION_NAMES
from retain.errors import RetainError
from retain.ingest import DataSet
from retain.location import Location
from retain.replay import DAYS_PER_MONTH, Horizons, replay_actions
from retain.sample import TRUTH_FILE
from retain.settings import Settings
from retain.world import world_at
from training import tracking
from training.action_evaluation import (
    SHARES,
    predicted_churn_drop,
    qini_curve,
    realized_churn_drop,
    realized_value_saved,
    summary_metrics,
    top_k,
)
from training.action_plots import plot_qini

PREDICTED = ("customer_id", "best_action", "value_saved", "value_at_risk")
# Futures replayed per customer and averaged: one future shows a customer saved or not, the average how likely
REPLICATES = 10


@dataclass
class ActionReport:
    """What an evaluation measured (printed by the CLI, asserted by tests)."""

    run_id: str
    customers: int
    frame: pd.DataFrame  # per customer: customer_id, best_action, value_saved, value_at_risk, realized_value_saved,
    # predicted_churn_drop, realized_churn_drop, alive (at the cutoff, in the simulated truth)
    table: pd.DataFrame  # per K: treated, predicted and realized per ranking (`action_evaluation.top_k`)
    curve: pd.DataFrame
    metrics: dict[str, float]
    churn_version: str
    clv_version: str


def evaluate_actions(settings: Settings, data: DataSet, data_dir: Location, as_of: dt.date,
                     truth: pd.DataFrame | None, progress: Callable[[str], None] | None = None,
                     replicates: int = REPLICATES) -> ActionReport:
    """Score at `as_of`, replay the simulated future (`replicates` times, averaged), compare the rankings, log
    the run."""
    say = progress or (lambda message: None)
    if truth is None:
        raise RetainError(f"no {TRUTH_FILE} in {data_dir}: evaluate-actions needs simulated data whose causes are "
                          "known (`retain generate` writes it beside the tables)")
    world = world_at(truth, data.transactions, data.interactions, as_of)
    if not len(world):
        raise RetainError(f"no simulated customer had bought by {as_of}: nothing to evaluate")
    say("loading the champion models")
    config = FeatureConfig.from_settings(settings)
    scorer = champion_scorer(settings, {f.name: f for f in catalogue(config)})
    say("computing features")
    sources = prepare_sources(data.con, data, data_dir)
    features = feature_io.to_frame(sources.con, sources.features_at(as_of, config))
    say(f"scoring {len(features):,} customers")
    scores = score(scorer, FeatureBlock.from_frame(features, scorer)).frame()
    missing = [column for column in PREDICTED if column not in scores.columns]
    if missing:
        raise RetainError(f"the scoring core gives no {', '.join(missing)}: this version cannot rank by value saved")
    say("replaying the simulated future with and without each action")
    horizons = Horizons(settings.clv_horizon_months * DAYS_PER_MONTH, settings.churn_horizon_days,
                        settings.monthly_discount_rate)
    outcomes = replay_actions(world, settings.seed, horizons, replicates)
    scores["predicted_churn_drop"] = predicted_churn_drop(scores)
    frame = scores[[*PREDICTED, "predicted_churn_drop"]].set_index("customer_id").reindex(outcomes.index)
    frame["realized_value_saved"] = realized_value_saved(frame["best_action"], outcomes)
    frame["realized_churn_drop"] = realized_churn_drop(frame["best_action"], outcomes)
    frame["alive"] = world.alive  # both in the world's customer order
    frame = frame.reset_index()
    table, curve = top_k(frame, SHARES), qini_curve(frame)
    metrics = {**summary_metrics(table, curve), **_context(frame, outcomes)}
    say("logging to MLflow")
    world_rules = {name: getattr(world.params, name)
                   for name in ("case_followup_days", "recovery_relief", "recovery_window_days", "walk_rate",
                                "open_case_hazard_days")}
    run_id = _log(settings, as_of, table, curve, metrics, scorer.churn_version, scorer.clv_version,
                  {**asdict(horizons), **world_rules, "replicates": replicates})
    return ActionReport(run_id, len(frame), frame, table, curve, metrics, scorer.churn_version, scorer.clv_version)


def _context(frame: pd.DataFrame, outcomes: pd.DataFrame) -> dict[str, float]:
    """What the whole base holds: customers, treated with their best action everyone would realize and the
    model predicts, baseline revenue, and how many customers each action applies to in the world."""
    return {
        "actions_customers": float(len(frame)),
        "actions_predicted_all": float(frame["value_saved"].sum()),
        "actions_realized_all": float(frame["realized_value_saved"].sum()),
        "actions_with_best_action": float(frame["best_action"].notna().sum()),
        "actions_baseline_revenue": float(outcomes["revenue_baseline"].sum()),
        **{f"actions_world_applies_{name}": float(outcomes[f"applies_{name}"].sum()) for name in ACTION_NAMES},
    }


def _log(settings: Settings, as_of: dt.date, table: pd.DataFrame, curve: pd.DataFrame, metrics: dict[str, float],
         churn_version: str, clv_version: str, replay_params: dict[str, float]) -> str:
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings.experiment, settings.mlflow_artifact_root)
    tags = {"git_commit": tracking.git_commit(), "as_of": as_of.isoformat(), "kind": "evaluate-actions",
            "churn_model_version": churn_version, "clv_model_version": clv_version}
    with tracking.run(experiment_id, f"evaluate-actions@{as_of.isoformat()}", tags) as run_id:
        tracking.log_params({"as_of": as_of, "seed": settings.seed, "shares": ",".join(map(str, SHARES)),
                             **replay_params})
        tracking.log_metrics(metrics)
        tracking.log_figure(plot_qini(curve, SHARES), "actions_qini")
        tracking.log_table(table, "actions_top_k.csv")
    return run_id
