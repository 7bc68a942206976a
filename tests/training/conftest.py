"""Training fixtures: seeded BG/NBD + Gamma-Gamma logs with known parameters, and one real training scenario."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.session_build import build_once

WEEKLY_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}
START = pd.Timestamp("2024-01-01")


def simulate_transactions(n: int, days: int, birth_days: int, rng: np.random.Generator,
                          max_purchases: int = 80, midnight: bool = False) -> pd.DataFrame:
    """BG/NBD purchases (first purchase at birth, rates per day from the weekly truth), Gamma-Gamma spend.

    Dropout happens after each repeat purchase with probability p, as in lifetimes' generator.
    """
    t = WEEKLY_TRUTH
    lam = rng.gamma(t["r"], 1.0 / (7.0 * t["alpha"]), n)  # per day: weekly rate / 7
    drop = rng.beta(t["a"], t["b"], n)
    lives = rng.geometric(drop)  # repeat purchases made before dropping out
    birth = rng.uniform(0, birth_days, n)
    gaps = rng.exponential(1.0, (n, max_purchases)) / lam[:, None]
    times = birth[:, None] + np.cumsum(gaps, axis=1)
    keep = (np.arange(1, max_purchases + 1)[None, :] <= lives[:, None]) & (times < days)
    cust = np.concatenate([np.arange(n), np.nonzero(keep)[0]])
    when = np.concatenate([birth, times[keep]])
    nu = rng.gamma(t["q"], 1.0 / t["v"], n)
    amount = rng.gamma(t["p"], 1.0 / nu[cust])
    offset = np.floor(when) if midnight else when
    # in microseconds, the contract's precision: ibis refuses to drop nanoseconds when it reads a frame
    stamps = (START + pd.to_timedelta(offset, unit="D")).floor("us").astype("datetime64[us]")
    frame = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in cust], "timestamp": stamps,
                          "amount": amount.round(2)})
    return frame.sort_values(["customer_id", "timestamp"], ignore_index=True)


@pytest.fixture(scope="session")
def transactions() -> pd.DataFrame:
    """3,000 customers born over 26 weeks, observed 78 weeks; timestamps with times of day."""
    return simulate_transactions(3000, 546, 182, np.random.default_rng(7))


@pytest.fixture(scope="session")
def midnight_transactions() -> pd.DataFrame:
    """800 customers with day-stamped purchases, where lifetimes' and our cutoff conventions coincide."""
    return simulate_transactions(800, 364, 120, np.random.default_rng(11), midnight=True)


# --- One real training scenario (appended for test_pipeline / test_tracking) -----------------------------
#
# Generated data, a real SQLite MLflow store in the pytest temp folder (never the project's mlruns/), and four
# calls of `training.pipeline.train` in order: a first run (default ChurnParams but one thread), an honestly
# worse churn model (one depth-1 tree), a run like the first that crashes part-way (its experiment's artifact
# root lies under a regular file), and the worse model again with force=True. After each step the registry
# state is recorded, so tests assert on what each step left behind whatever order they run in. Under
# pytest-xdist the workers share one scenario: the first to get the lock builds it, the others read its JSON
# summary.

TRAIN_CUSTOMERS = 2000
TRAIN_SEED = 20250917
# the simulated log runs 2024-01-01 .. 2025-12-30; the library takes the day after (the command line would
# refuse it, see retain/span.py), which keeps the cutoffs these tests pin
TRAIN_AS_OF = dt.date(2025, 12, 31)
# one thread: XGBoost's OpenMP threads spin, and pytest-xdist already keeps every core busy
BEST_CHURN = {"threads": 1}
WORSE_CHURN = {"max_rounds": 1, "max_depth": 1, "early_stopping_rounds": 1, "threads": 1}


def registry_state(client: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Per registered model: its versions (version, source, run_id, status) and aliases; None if absent."""
    from training import tracking

    state: dict[str, Any] = {}
    for name in names or (tracking.CHURN_MODEL, tracking.CLV_MODEL):
        if not client.search_registered_models(filter_string=f"name = '{name}'"):
            state[name] = None
            continue
        found = client.search_model_versions(f"name = '{name}'")
        versions = [[str(v.version), v.source, v.run_id, v.status]
                    for v in sorted(found, key=lambda v: int(v.version))]
        named = client.get_registered_model(name).aliases
        aliases = {alias: str(version) for alias, version in named.items()}
        state[name] = {"versions": versions, "aliases": aliases}
    return state


@dataclass(frozen=True)
class TrainingScenario:
    base: Path
    data_dir: Path
    tracking_uri: str
    artifact_root: Path
    experiment: str
    steps: dict[str, dict[str, Any]]
    crash: dict[str, Any]

    @property
    def test_rows_path(self) -> Path:
        return self.base / "test_rows.parquet"

    def settings(self, **changes: Any) -> Any:
        return isolated_settings(**{"mlflow_tracking_uri": self.tracking_uri, "experiment": self.experiment,
                                    "mlflow_artifact_root": self.artifact_root, "training_cutoffs": 2,
                                    "seed": TRAIN_SEED, **changes})


def isolated_settings(**values: Any) -> Any:
    """Settings from defaults and `values` only: no RETAIN_* / MLFLOW_TRACKING_URI variable, no .env file."""
    from retain.settings import Settings

    defaults = {name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}
    return Settings(_env_file=None, **{**defaults, **values})  # type: ignore[call-arg]


NEWCOMER = "NEW/at-clv-cutoff"


def with_newcomer_at_clv_cutoff(sample: Any) -> Any:
    """The sample plus a customer whose only purchase falls on the CLV calibration cutoff (as_of - 90 days):
    T = 0 there, which once stopped training on any log of a business that acquires customers daily."""
    from retain.simulate import SampleData

    day = pd.Timestamp(TRAIN_AS_OF - dt.timedelta(days=90))
    customer = pd.DataFrame({"customer_id": [NEWCOMER], "signup_date": [day], "segment": ["basic"],
                             "country": ["US"], "churned_at": [pd.NaT]}).astype(sample.customers.dtypes)
    purchase = pd.DataFrame({"customer_id": [NEWCOMER], "timestamp": [day + pd.Timedelta(hours=15)],
                             "amount": [42.5], "order_id": ["O-newcomer"]}).astype(sample.transactions.dtypes)
    return SampleData(pd.concat([sample.customers, customer], ignore_index=True),
                      pd.concat([sample.transactions, purchase], ignore_index=True), sample.interactions,
                      sample.truth)


def _step(report: Any, client: Any) -> dict[str, Any]:
    return {"run_id": report.run_id, "metrics": report.metrics, "versions": report.versions,
            "decisions": {name: d.model_dump() for name, d in report.decisions.items()},
            "plan": report.plan.model_dump(mode="json"), "registry": registry_state(client)}


def _build_scenario(base: Path) -> dict[str, Any]:
    from features.build import FeatureConfig
    from features.snapshot import prepare_sources
    from retain.ingest import load
    from retain.sample import read_truth, write_sample
    from retain.simulate import generate
    from training import pipeline, tracking
    from training.churn import ChurnParams
    from training.dataset import labelled_features

    data_dir = base / "data"
    write_sample(with_newcomer_at_clv_cutoff(generate(TRAIN_CUSTOMERS, TRAIN_SEED)), data_dir)
    data, truth = load(data_dir), read_truth(data_dir)
    summary: dict[str, Any] = {"data_dir": str(data_dir), "tracking_uri": f"sqlite:///{base}/mlflow.db",
                               "artifact_root": str(base / "artifacts"), "experiment": "test", "steps": {}}
    scenario = TrainingScenario(base, data_dir, summary["tracking_uri"], base / "artifacts", "test", {}, {})
    settings = scenario.settings()
    best, worse = ChurnParams(**BEST_CHURN), ChurnParams(**WORSE_CHURN)

    first = pipeline.train(settings, data, data_dir, TRAIN_AS_OF, truth, churn_params=best)
    client = tracking.configure(settings)
    summary["steps"]["first"] = _step(first, client)
    summary["steps"]["worse"] = _step(pipeline.train(settings, data, data_dir, TRAIN_AS_OF, truth,
                                                     churn_params=worse), client)

    blocker = base / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be\n")
    broken = scenario.settings(experiment="test-unwritable", mlflow_artifact_root=blocker / "artifacts")
    before = registry_state(client)
    try:
        pipeline.train(broken, data, data_dir, TRAIN_AS_OF, truth, churn_params=best)
    except Exception as error:  # noqa: BLE001 - recorded for the tests to judge
        failure = {"type": type(error).__name__, "message": str(error)}
    else:
        failure = {"type": None, "message": "training did not fail"}
    client = tracking.configure(settings)
    experiment = client.get_experiment_by_name("test-unwritable")
    summary["crash"] = {**failure, "before": before, "after": registry_state(client),
                        "runs": [[r.info.run_id, r.info.status] for r in
                                 client.search_runs([experiment.experiment_id])] if experiment else []}

    forced = pipeline.train(settings, data, data_dir, TRAIN_AS_OF, truth, force=True, churn_params=worse)
    summary["steps"]["forced"] = _step(forced, client)

    config = FeatureConfig(windows=settings.feature_windows_days, unit=settings.rfm_time_unit,
                           repeat_contact_days=settings.repeat_contact_days)
    sources = prepare_sources(data.con, data, data_dir)
    test_cutoff = dt.date.fromisoformat(summary["steps"]["first"]["plan"]["test"])
    labelled_features(sources, data.customers, data.transactions, test_cutoff, config,
                      settings.churn_horizon_days).to_parquet(scenario.test_rows_path)
    return summary


@pytest.fixture(scope="session")
def training_scenario(tmp_path_factory: pytest.TempPathFactory) -> TrainingScenario:
    """The scenario above, built once per test session (shared between xdist workers)."""
    base, summary = build_once(tmp_path_factory, "training-scenario", _build_scenario)
    return TrainingScenario(base, Path(summary["data_dir"]), summary["tracking_uri"],
                            Path(summary["artifact_root"]), summary["experiment"], summary["steps"],
                            summary["crash"])


@pytest.fixture()
def mlflow_client(training_scenario: TrainingScenario) -> Any:
    """An MlflowClient on the scenario's store, with MLflow's global URIs pointed there too."""
    from training import tracking

    return tracking.configure(training_scenario.settings())
