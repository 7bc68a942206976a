"""`retain train`: build the out-of-time training set, fit both models, evaluate them next to their baselines
and the best achievable score, track everything in MLflow, and promote only what beats the champion.

Every model and metric is computed before the registry is touched, and the registry step is all or nothing,
so a failed or interrupted training leaves the registry and the champion as they were.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import FeatureConfig, catalogue
from features.rfm import DAYS_PER_UNIT, RFM_COLUMNS
from features.snapshot import prepare_sources
from models import artifacts, registry
from models.churn import ChurnModel
from models.clv import CLV_OUTPUTS, ClvModel
from models.population import TierThresholds
from models.pyfunc import ChurnPyfunc, ClvPyfunc
from retain.errors import RetainError
from retain.ingest import DataSet
from retain.location import Location, scheme
from retain.reference import best_achievable_churn_probability, clairvoyant_churn_probability
from retain.settings import Settings
from training import tracking
from training.baselines import logistic_rfm_scores, one_minus_p_alive
from training.churn import ChurnParams, fit_churn, without_service
from training.clv_choice import ClvChoice, choose_on_plan
from training.clv_evaluation import holdout_metrics
from training.dataset import LABEL, sampling_rate, training_frames
from training.evaluation import classification_report, roc_auc
from training.gate import GateDecision, decide
from training.labels import CutoffPlan, plan_cutoffs
from training.report import churn_figures, clv_figures
from training.retention import idle_days, retention_metrics, tier_metrics

Progress = Callable[[str], None]
SIGNATURE_ROWS = 2000


@dataclass
class TrainReport:
    """What a training run measured and decided (printed by the CLI, asserted by tests)."""

    run_id: str
    plan: CutoffPlan
    metrics: dict[str, float]
    decisions: dict[str, GateDecision]
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _champion_churn_auc(client: object, test: pd.DataFrame) -> float | None:
    """The current champion's ROC-AUC on this run's test rows, or None if it cannot score them."""
    version = registry.champion_version(client, registry.CHURN_MODEL)  # type: ignore[arg-type]
    if version is None:
        return None
    try:
        champion = registry.load_churn_version(client, version)  # type: ignore[arg-type]
        return roc_auc(test[LABEL].to_numpy(), champion.predict_proba(test))
    except (KeyError, ValueError):
        return None


def _champion_clv_mae(client: object, frame: pd.DataFrame) -> float | None:
    version = registry.champion_version(client, registry.CLV_MODEL)  # type: ignore[arg-type]
    if version is None:
        return None
    try:
        return holdout_metrics(registry.load_clv_version(client, version), frame)[1]["purchases_mae"]  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError):
        return None


def _reference_metrics(truth: pd.DataFrame | None, data: DataSet, test: pd.DataFrame, cutoff: dt.date,
                       horizon_days: int) -> dict[str, float]:
    """Best achievable (true parameters + observed history) and clairvoyant AUC on the test rows."""
    if truth is None:
        return {}
    known = test[test["customer_id"].isin(truth["customer_id"])]  # customers added to a simulated log have none
    ids = known["customer_id"].to_numpy()
    best = best_achievable_churn_probability(truth, data.transactions, data.interactions, cutoff, horizon_days)
    clairvoyant = clairvoyant_churn_probability(truth, cutoff, horizon_days)
    labels = known[LABEL].to_numpy()
    return {"reference_best_achievable_roc_auc": roc_auc(labels, best.reindex(ids).to_numpy()),
            "reference_clairvoyant_roc_auc": roc_auc(labels, clairvoyant.reindex(ids).to_numpy())}


def _too_little_history(data: DataSet, plan: CutoffPlan, as_of: dt.date) -> str:
    """Why a cutoff had no customers, with the dates: usually the earliest one lies before the first purchase."""
    message = f"no customers with purchases at some training cutoff ({plan.train[0]} .. {plan.test})"
    first_stamp = data.transactions.timestamp.min().to_pyarrow().as_py()
    if first_stamp is None:
        return f"{message}: the data has no purchases"
    first = first_stamp.date()
    if plan.train[0] >= first:  # not a matter of history: nobody both signed up and bought by some cutoff
        return (f"{message}, although the data's first purchase is on {first}: a customer counts at a cutoff "
                "once signed up and bought by then")
    history = as_of - plan.train[0]
    return (f"{message}; --as-of needs {history.days} days of history before it (the earliest training cutoff "
            f"is {plan.train[0]}) and the data's first purchase is on {first}: --as-of {first + history} or "
            "later, or fewer or closer training cutoffs (RETAIN_TRAINING_CUTOFFS, RETAIN_CUTOFF_STEP_DAYS)")


def train(settings: Settings, data: DataSet, data_dir: Location, as_of: dt.date, truth: pd.DataFrame | None,
          force: bool = False, progress: Progress | None = None,
          churn_params: ChurnParams | None = None) -> TrainReport:
    """Train, evaluate, track and (maybe) promote both models as of `as_of` (`churn_params`: XGBoost
    settings, default `ChurnParams()`)."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    config = FeatureConfig.from_settings(settings)
    plan = plan_cutoffs(as_of, settings.churn_horizon_days, settings.training_cutoffs, settings.cutoff_step_days)
    say("scoring interaction text")
    sources = prepare_sources(data.con, data, data_dir)
    rate = sampling_rate(settings.max_train_rows, len(plan.train), int(data.customers.count().execute()))
    frames = training_frames(sources, data.customers, data.transactions, plan, config,
                             settings.churn_horizon_days, say, rate, settings.seed)
    if any(frame.empty for frame in frames.values()):
        raise RetainError(_too_little_history(data, plan, as_of))
    train_rows, validation, test = frames["train"], frames["validation"], frames["test"]
    features = catalogue(config)
    say("fitting the churn model")
    params = churn_params or ChurnParams()
    churn = fit_churn(train_rows, validation, features, LABEL, params, settings.seed)
    ablation = fit_churn(train_rows, validation, without_service(features), LABEL, params, settings.seed)
    say("choosing the CLV model on the validation window")
    service_columns = [c for c in churn.space.numeric if c not in RFM_COLUMNS]
    choice = choose_on_plan(sources.transactions, plan, as_of, frames, service_columns, config.unit,
                            settings.churn_horizon_days, settings.seed)
    clv = choice.evaluation

    say("evaluating on the test cutoff")
    labels = test[LABEL].to_numpy()
    scores = {"churn_model": churn.predict_proba(test),
              "logistic_rfm": logistic_rfm_scores(train_rows, test, LABEL),
              "one_minus_p_alive": one_minus_p_alive(clv.model, test),
              "no_service_ablation": ablation.predict_proba(test)}
    metrics = classification_report(labels, scores["churn_model"], "churn_test")
    for name in ("logistic_rfm", "one_minus_p_alive", "no_service_ablation"):
        metrics[f"baseline_{name}_roc_auc"] = roc_auc(labels, scores[name])
    metrics["service_features_auc_gain"] = (metrics["churn_test_roc_auc"]
                                            - metrics["baseline_no_service_ablation_roc_auc"])
    rfm = test[list(RFM_COLUMNS)].to_numpy(dtype=float, na_value=np.nan)
    member = registry.retention_population(settings).members(rfm, 1.0 - scores["one_minus_p_alive"], clv.model.unit)
    metrics.update(retention_metrics(labels, scores, member, idle_days(rfm, DAYS_PER_UNIT[clv.model.unit])))
    churn = _with_tiers(churn, settings, scores["churn_model"], member)
    metrics.update(tier_metrics(registry.tier_thresholds(settings, churn), scores["churn_model"], member))
    metrics.update(_reference_metrics(truth, data, test, plan.test, settings.churn_horizon_days))
    metrics.update({f"clv_{key}": value for key, value in clv.metrics.items()})
    metrics.update(clv_candidate_metrics(choice))
    metrics.update({"rows_train": len(train_rows), "rows_validation": len(validation), "rows_test": len(test),
                    "churn_rate_test": float(labels.mean())})

    say("comparing with the champion")
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings.experiment, settings.mlflow_artifact_root)
    decisions = {
        tracking.CHURN_MODEL: decide("ROC-AUC", metrics["churn_test_roc_auc"], _champion_churn_auc(client, test),
                                     higher_is_better=True, force=force),
        tracking.CLV_MODEL: decide("holdout purchase MAE", metrics["clv_purchases_mae"],
                                   _champion_clv_mae(client, clv.frame), higher_is_better=False, force=force),
    }
    lineage = tracking.table_digest({"customers": data.customers, "transactions": data.transactions,
                                     "interactions": data.interactions}, as_of.isoformat())
    rows = dict(zip(lineage["table"], lineage["rows"], strict=True))
    tags = {"git_commit": tracking.git_commit(), "as_of": as_of.isoformat(),
            "customers": str(rows["customers"]), "transactions": str(rows["transactions"]),
            "interactions": str(rows["interactions"])}
    say("logging to MLflow")
    with tracking.run(experiment_id, f"train@{as_of.isoformat()}", tags) as run_id:
        tracking.log_lineage(lineage, str(data_dir if scheme(data_dir) else Path(data_dir).resolve()))
        tracking.log_params({
            "as_of": as_of, "horizon_days": settings.churn_horizon_days,
            "cutoffs_train": ",".join(day.isoformat() for day in plan.train),
            "cutoff_validation": plan.validation, "cutoff_test": plan.test, "rfm_unit": config.unit,
            "engine": settings.engine, "max_train_rows": settings.max_train_rows, "train_sampling_rate": rate,
            "windows": config.windows, "features": len(churn.space.columns), "seed": settings.seed,
            "churn_best_iteration": churn.best_iteration, **{f"churn_{k}": v for k, v in params.model_dump().items()},
            **{f"clv_{k}": v for k, v in clv.model.params.items()},
            "clv_bgnbd_penalizer": clv.model.bgnbd_penalizer,
            "clv_gamma_gamma_penalizer": clv.model.gamma_gamma_penalizer,
            "clv_fit_attempts": [asdict(a) for a in clv.model.attempts],
            "clv_purchase_model": choice.chosen, "clv_hybrid": choice.hybrid_won, "clv_choice": choice.reason,
        })
        tracking.log_metrics(metrics)
        for name, figure in {**churn_figures(churn, test, labels, scores),
                             **clv_figures(clv, data.transactions, plan.test, as_of)}.items():
            tracking.log_figure(figure, name)
        model_uris = _log_models(churn, clv.model, test, settings)
        for name, decision in decisions.items():
            tracking.log_params({f"gate_{name}": decision.reason})
        say("registering")
        versions = tracking.register(client, model_uris, {n: d.promote for n, d in decisions.items()}, run_id)
    return TrainReport(run_id, plan, metrics, decisions, versions, time.perf_counter() - started)


def clv_candidate_metrics(choice: ClvChoice) -> dict[str, float]:
    """Every CLV candidate's validation and holdout figures, e.g. `clv_holdout_pareto_nbd_purchases_mae`,
    and whether the hybrid won (1/0)."""
    keys = ("purchases_mae", "purchases_aggregate_error", "spend_aggregate_error")
    found = {f"clv_{stage}_{name}_{key}": figures[key]
             for stage, table in (("validation", choice.validation), ("holdout", choice.holdout))
             for name, figures in table.items() for key in keys}
    return {**found, "clv_hybrid_won": float(choice.hybrid_won)}


def _with_tiers(churn: ChurnModel, settings: Settings, probability: np.ndarray, member: np.ndarray) -> ChurnModel:
    """The churn model carrying the tier thresholds that put the configured shares of the test cutoff's
    retention population in `high` and `medium` (unchanged when the population is empty)."""
    if not member.any():
        return churn
    thresholds = TierThresholds.from_shares(probability[member], settings.high_risk_share, settings.medium_risk_share)
    return replace(churn, thresholds=thresholds)


def _log_models(churn: ChurnModel, clv_model: ClvModel, test: pd.DataFrame, settings: Settings) -> dict[str, str]:
    feature_columns = [c for c in test.columns if c not in ("customer_id", "as_of", LABEL)]
    # the signature keeps the feature table's own types (counts are integers), so the registered model takes
    # the output of `retain features` as it is; MLflow refuses int64 columns for a double in the signature
    example = test.iloc[np.linspace(0, len(test) - 1, min(SIGNATURE_ROWS, len(test))).astype(int)][feature_columns]
    example = example.reset_index(drop=True)
    service = list(clv_model.correction.service) if clv_model.correction is not None else []
    rfm = example[list(RFM_COLUMNS) + service]
    clv_example = clv_model.outputs(rfm[list(RFM_COLUMNS)].to_numpy(dtype=float, na_value=np.nan),
                                    settings.clv_horizon_months, settings.monthly_discount_rate,
                                    rfm[service].to_numpy(dtype=float, na_value=np.nan) if service else None)
    with tracking.scratch_dir() as scratch:
        churn_uri = tracking.log_pyfunc(
            "churn_model", ChurnPyfunc(), artifacts.save_churn(churn, Path(scratch) / "churn"),
            example, pd.DataFrame({"churn_probability": churn.predict_proba(example)}))
        clv_uri = tracking.log_pyfunc(
            "clv_model", ClvPyfunc(settings.clv_horizon_months, settings.monthly_discount_rate),
            artifacts.save_clv(clv_model, Path(scratch) / "clv"), rfm,
            pd.DataFrame(clv_example, columns=list(CLV_OUTPUTS)), optional=service)
    return {tracking.CHURN_MODEL: churn_uri, tracking.CLV_MODEL: clv_uri}
