"""The overview page's figures over one served batch: the churn probability distribution, value at risk by
segment and by tier, the most frequent reasons, and where each model's MLflow run is.

The figures are computed once per served batch. The run links come from the registry (the version the batch
was scored with -> its run id and experiment), read the way the API loads models (`models.registry`); when the
registry cannot be read the page says so instead of linking.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import pandas as pd

from models.registry import CHURN_MODEL, CLV_MODEL, configure
from retain.settings import Settings
from serving.state import TIER_CODES, ScoreView

BINS = 20
TOP_REASONS = 10
log = logging.getLogger("retain.console")


@dataclass(frozen=True)
class Group:
    name: str
    customers: int
    value_at_risk: float
    mean_probability: float | None


@dataclass(frozen=True)
class ModelRun:
    model: str
    version: str
    url: str | None  # None when the registry could not say


@dataclass(frozen=True)
class Overview:
    counts: list[int]
    edges: list[float]
    by_segment: list[Group]
    by_tier: list[Group]
    reasons: list[tuple[str, int]]  # reason text, customers it concerns
    total_value_at_risk: float


def _groups(names: np.ndarray, view: ScoreView) -> list[Group]:
    frame = pd.DataFrame({"name": pd.Series(names, dtype=object).fillna("(none)"),
                          "var": view.floats["value_at_risk"], "p": view.floats["churn_probability"]})
    grouped = frame.groupby("name", sort=False).agg(customers=("var", "size"), total=("var", "sum"),
                                                    mean_p=("p", "mean"))
    grouped = grouped.sort_values(["total", "customers"], ascending=False)
    return [Group(str(name), int(customers), float(total), None if np.isnan(mean_p) else float(mean_p))
            for name, customers, total, mean_p in grouped[["customers", "total", "mean_p"]].itertuples()]


def compute(view: ScoreView) -> Overview:
    probability = view.floats["churn_probability"]
    counts, edges = np.histogram(probability[~np.isnan(probability)], bins=BINS, range=(0.0, 1.0))
    tiers = _groups(view.tiers, view)
    tiers.sort(key=lambda g: -TIER_CODES.get(g.name, -1))  # most urgent first
    reasons = pd.Series(view.reasons.ravel(), dtype=object).dropna()  # the three reasons of a row differ
    top = reasons.value_counts().head(TOP_REASONS)
    return Overview(counts.tolist(), edges.tolist(), _groups(view.segments, view), tiers,
                    [(str(text), int(n)) for text, n in top.items()],
                    float(np.nansum(view.floats["value_at_risk"])))


def model_runs(settings: Settings, churn_version: str, clv_version: str) -> list[ModelRun]:
    """Each model version's MLflow run in the MLflow UI (`settings.mlflow_ui_url`)."""
    runs = []
    for model, version in ((CHURN_MODEL, churn_version), (CLV_MODEL, clv_version)):
        url = None
        try:
            client = configure(settings)
            run_id = client.get_model_version(model, version).run_id
            if run_id:
                experiment = client.get_run(run_id).info.experiment_id
                url = (f"{settings.mlflow_ui_url.rstrip('/')}/#/experiments/{quote(str(experiment), safe='')}"
                       f"/runs/{quote(run_id, safe='')}")
        except Exception as error:  # noqa: BLE001 - a registry that cannot be read only loses the link
            log.warning("overview: no MLflow run link for %s v%s: %s", model, version, type(error).__name__)
        runs.append(ModelRun(model, version, url))
    return runs


class OverviewCache:
    """The overview of the latest view asked for, and the run links by model versions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._view: ScoreView | None = None
        self._overview: Overview | None = None
        self._runs: dict[tuple[str, str], list[ModelRun]] = {}
        self._lock = threading.Lock()

    def get(self, view: ScoreView) -> tuple[Overview, list[ModelRun]]:
        with self._lock:
            if self._view is not view or self._overview is None:
                self._view, self._overview = view, compute(view)
            versions = (view.info.churn_model_version, view.info.clv_model_version)
            if versions not in self._runs or any(r.url is None for r in self._runs[versions]):
                self._runs[versions] = model_runs(self.settings, *versions)
            return self._overview, self._runs[versions]
