"""Composing the families into one point-in-time feature table: one row per customer known at the cutoff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import ibis
import ibis.expr.datatypes as datatypes
import ibis.expr.operations as ops
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict

from features import effort, resolution, rfm, survey
from features.catalogue import Dtype, Feature
from features.contacts import cases_at, contacts_at
from features.cutoff import Cutoff
from retain.settings import Settings


class FeatureConfig(BaseModel):
    """What shapes the feature table (taken from `retain.settings.Settings`)."""

    model_config = ConfigDict(frozen=True)

    windows: tuple[int, ...] = (30, 90, 365)
    unit: rfm.TimeUnit = "D"
    repeat_contact_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> FeatureConfig:
        return cls(windows=settings.feature_windows_days, unit=settings.rfm_time_unit,
                   repeat_contact_days=settings.repeat_contact_days)


def catalogue(config: FeatureConfig, with_sentiment: bool = True) -> list[Feature]:
    """Every feature column, in output order."""
    features = [
        *rfm.catalogue(config.windows, config.unit),
        *effort.catalogue(config.windows, config.repeat_contact_days),
        *resolution.catalogue(config.windows),
        *survey.catalogue(config.windows),
        *survey.tenure_catalogue(),
    ]
    if with_sentiment:
        from features import sentiment

        features += sentiment.catalogue(config.windows)
    return features


def build_features(customers: ir.Table, transactions: ir.Table, interactions: ir.Table, as_of: dt.date,
                   config: FeatureConfig, scored_interactions: ir.Table | None = None,
                   materialize: Callable[[ir.Table], ir.Table] | None = None) -> ir.Table:
    """The feature table at `as_of`; `scored_interactions` (interaction_id, customer_id, opened_at,
    sentiment) adds the sentiment family. `materialize`, when given, computes each family, and the table
    after each join, on its own (e.g. into a file), so that no query holds more than one family's aggregates
    or one join's hash table: one query holding them all needs more memory than the engine may have (DuckDB at
    1,000,000 customers under a 1 GB limit; at 60,000 under 64MB the families alone, joined at once, did)."""
    cutoff = Cutoff(as_of)
    known = customers.filter(customers.signup_date < ibis.timestamp(cutoff.end))
    base = known.select(
        "customer_id",
        as_of=ibis.date(as_of),
        tenure_days=cutoff.days_since(known.signup_date),
        segment=known.segment,
        country=known.country,
    )
    contacts = contacts_at(interactions, cutoff, config.repeat_contact_days)
    cases = cases_at(contacts)
    families: list[ir.Table] = [
        rfm.rfm_features(transactions, cutoff, config.windows, config.unit),
        effort.effort_features(contacts, cases, cutoff, config.windows),
        resolution.resolution_features(cases, cutoff, config.windows),
        survey.survey_features(contacts, cutoff, config.windows),
    ]
    if scored_interactions is not None:
        from features import sentiment

        families.append(sentiment.sentiment_features(scored_interactions, cutoff, config.windows))
    keep = materialize or (lambda computed: computed)
    table = base
    for family in families:
        table = keep(table.left_join(keep(family), "customer_id").drop("customer_id_right"))
    return _fill_absent(table, catalogue(config, scored_interactions is not None))


def _fill_absent(table: ir.Table, features: Sequence[Feature]) -> ir.Table:
    """Counts and totals are 0 for a customer without events, everything else stays missing; and every column
    gets its catalogue dtype, so the Parquet file, the training frames and any engine agree on one type."""
    columns = {f.name: _as_dtype(table[f.name].fill_null(0) if f.zero_when_absent else table[f.name], f.dtype)
               for f in features}
    return table.select("customer_id", "as_of", **columns)


def _as_dtype(column: ir.Value, dtype: Dtype) -> ir.Value:
    """`column` cast to `dtype` in the query itself. ibis drops a cast to the type it already infers, but the
    engine's own type may differ (DuckDB sums BIGINT into HUGEINT, which its Parquet writer stores as DOUBLE),
    so the cast is built as an operation. A float becoming an integer is rounded first: a bare cast rounds on
    DuckDB and truncates on Spark."""
    if dtype == "int64" and column.type().is_floating():
        column = column.round()
    return ops.Cast(column, to=datatypes.dtype(dtype)).to_expr()
