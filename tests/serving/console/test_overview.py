"""The overview page against the batch read here: batch facts, the probability distribution, value at risk by
segment and tier, the most frequent reasons, and a link to each model's MLflow run."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from serving.console import charts
from tests.serving.conftest import Store
from tests.serving.console.conftest import Page


def test_the_overview_matches_the_batch(agent: httpx.Client, store: Store) -> None:
    batch = store.scores()
    page = Page(agent.get("/app/overview").text)
    facts = page.one("section", id="batch").content
    assert store.batch_id in facts and "2025-12-31" in facts and f"{len(batch):,}" in facts
    svg = page.one("figure", id="probability-distribution")
    assert len(page.find("rect")) == 20 and "customers" in svg.content
    tiers = page.one("table", id="by-tier").content
    for tier, group in batch.groupby("risk_tier"):
        assert str(tier) in tiers and f"{len(group):,}" in tiers and f"{group['value_at_risk'].sum():,.2f}" in tiers
    segments = page.one("table", id="by-segment").content
    for segment, group in batch.groupby("segment"):
        assert str(segment) in segments and f"{group['value_at_risk'].sum():,.2f}" in segments
    reasons = pd.Series(batch[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel()).dropna().value_counts()
    table = page.one("table", id="top-reasons").content
    assert reasons.index[0] in table and f"{reasons.iloc[0]:,}" in table


def test_each_model_links_to_its_mlflow_run(agent: httpx.Client, store: Store) -> None:
    client = MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)
    links = Page(agent.get("/app/overview").text).find("a", class_="mlflow-run")
    assert len(links) == 2
    for name, link in zip(("retain-churn", "retain-clv"), links, strict=True):
        version = client.get_model_version_by_alias(name, "champion")
        assert link.attrs["href"].endswith(f"/runs/{version.run_id}")
        assert link.attrs["href"].startswith("http://127.0.0.1:5000/#/experiments/")


def test_the_histogram_counts_and_describes() -> None:
    counts, edges = np.histogram([0.1, 0.15, 0.9], bins=4, range=(0, 1))
    svg = str(charts.histogram(counts.tolist(), edges.tolist(), "T <x>", "customers"))
    assert svg.count("<rect") == 4 and "<title>T &lt;x&gt;</title>" in svg and "3 customers" in svg
