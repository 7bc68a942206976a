"""Prometheus metrics, one registry per app: requests and latency per route template, and what is served
(model versions, the batch and its age) read from the current snapshot at scrape time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from serving.state import Snapshot

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def score_age_seconds(snapshot: Snapshot, now: dt.datetime) -> float | None:
    if snapshot.view is None:
        return None
    scored_at = dt.datetime.fromisoformat(snapshot.view.info.scored_at)
    if scored_at.tzinfo is None:
        scored_at = scored_at.replace(tzinfo=dt.UTC)
    return (now - scored_at).total_seconds()


class SnapshotCollector:
    """Gauges about the snapshot being served, computed when scraped."""

    def __init__(self, current: Callable[[], Snapshot | None]) -> None:
        self.current = current

    def collect(self) -> Iterator[Metric]:
        snapshot = self.current()
        ready = GaugeMetricFamily("retain_ready", "1 when the score batch and the models are loaded.")
        ready.add_metric([], 1.0 if snapshot is not None and snapshot.ready else 0.0)
        yield ready
        if snapshot is None:
            return
        models = GaugeMetricFamily("retain_model_version_info", "Champion model versions loaded (value 1).",
                                   labels=["model", "version"])
        if snapshot.models is not None:
            models.add_metric(["retain-churn", snapshot.models.churn_version], 1.0)
            models.add_metric(["retain-clv", snapshot.models.clv_version], 1.0)
        yield models
        if snapshot.view is None:
            return
        info = snapshot.view.info
        batch = GaugeMetricFamily("retain_score_batch_info", "The score batch served (value 1).",
                                  labels=["batch_id", "as_of", "churn_model_version", "clv_model_version"])
        batch.add_metric([info.batch_id, info.as_of, info.churn_model_version, info.clv_model_version], 1.0)
        yield batch
        yield GaugeMetricFamily("retain_score_batch_customers", "Customers in the served batch.",
                                value=float(info.customers))
        age = score_age_seconds(snapshot, dt.datetime.now(dt.UTC))
        yield GaugeMetricFamily("retain_score_age_seconds", "Seconds since the served batch was scored.",
                                value=age if age is not None else float("nan"))


class Metrics:
    """Request counters and latency histograms labelled by route template, never by raw path."""

    def __init__(self, current: Callable[[], Snapshot | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("retain_http_requests", "HTTP requests by method, route template and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("retain_http_request_duration_seconds", "Request latency by route template.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(SnapshotCollector(current))  # type: ignore[arg-type]

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
