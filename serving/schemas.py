"""Request and response schemas of the API, one family per resource; the feature row is built from the
feature catalogue, so the /v1/score contract is exactly the columns the feature pipeline produces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    confloat,
    create_model,
    model_validator,
)

from features.catalogue import Feature
from models.clv import PURCHASE_COLUMNS
from retain.actions import ActionName
from retain.contract import CUSTOMER_ID_MAX_LENGTH, CUSTOMER_ID_MIN_LENGTH

MAX_ITEMS = 1000
MAX_CATEGORY_LENGTH = 100
RFM_ORDER = PURCHASE_COLUMNS  # frequency <= recency <= T: each must not exceed the next

# the data contract's id rule, so every id ingest accepts can be asked for (path, lookup body, /v1/score rows)
CustomerId = Annotated[str, StringConstraints(min_length=CUSTOMER_ID_MIN_LENGTH, max_length=CUSTOMER_ID_MAX_LENGTH)]
Tier = Literal["lapsed", "low", "medium", "high"]  # models.population.TIERS (a test holds them equal)


def _iso_day(value: object) -> object:
    if not isinstance(value, str | dt.date):
        raise ValueError("should be a date string like 2025-12-31")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_day)]


class ErrorMessage(BaseModel):
    """A client or server error; the message names the field or header at fault."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field's path.")
    type: str
    msg: str = Field(description="What is wrong, prefixed with the field, e.g. `rows.3.recency: ...`.")


class FieldErrors(BaseModel):
    """Request validation failed; one entry per problem, inputs not echoed."""

    detail: list[FieldError]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class BatchMeta(BaseModel):
    """The score batch an answer comes from."""

    batch_id: str
    as_of: str = Field(description="Cutoff day of the features the batch was scored on.")
    scored_at: str
    customers: int
    churn_model_version: str = Field(description="retain-churn version that scored the batch.")
    clv_model_version: str = Field(description="retain-clv version that scored the batch.")


class ModelVersions(BaseModel):
    """The champion versions loaded for on-demand scoring."""

    churn_model_version: str
    clv_model_version: str


class Readiness(BaseModel):
    ready: bool
    batch: BatchMeta | None = None
    score_age_seconds: float | None = Field(default=None, description="Seconds since the batch was scored.")
    models: ModelVersions | None = None
    loaded_at: dt.datetime
    problems: list[str] = Field(default_factory=list, description="What could not be loaded, when not ready.")


CLV_LOW = ("Lower end of the 80% interval of the CLV: 80% of customers' realised value is meant to fall between "
           "clv_low and clv_high (coverage measured on the holdout at training). Null without a purchase.")
CLV_HIGH = "Upper end of the 80% interval of the CLV (see clv_low)."


ESTIMATE_NOTE = ("A model estimate from observational data (the churn model scored on the customer's features "
                 "as the action would change them), validated on simulated data where the causes are known "
                 "(`retain evaluate-actions`); not a measured effect.")


class ActionEstimate(BaseModel):
    """What one next best action is estimated to do for this customer."""

    action: ActionName = Field(description="resolve_open_case, single_owner or service_recovery.")
    churn_probability_after: float = Field(description="Churn probability if the action is taken. " + ESTIMATE_NOTE)
    value_saved: float = Field(description="CLV x (churn probability now - after), never negative. " + ESTIMATE_NOTE)


class CustomerScore(BaseModel):
    """One customer's latest score. CLV figures are null for a customer without a purchase."""

    customer_id: str
    segment: str | None = None
    churn_probability: float | None
    risk_tier: Tier | None
    p_alive: float | None
    expected_purchases: float | None = Field(description="Expected repeat purchases over the CLV horizon.")
    clv: float | None = Field(description="Discounted expected spend over the CLV horizon.")
    clv_low: float | None = Field(default=None, description=CLV_LOW)
    clv_high: float | None = Field(default=None, description=CLV_HIGH)
    value_at_risk: float | None = Field(description="CLV x churn probability.")
    reasons: list[str] = Field(description="Up to three reasons that push the churn score up, strongest first.")
    best_action: ActionName | None = Field(
        default=None, description="The action with the largest value saved; null when none applies or saves.")
    value_saved: float | None = Field(default=None, description="Value saved by the best action (0 when none). "
                                                                + ESTIMATE_NOTE)
    actions: list[ActionEstimate] = Field(default_factory=list,
                                          description="Every action that applies to the customer, best first.")


class CustomerDetail(CustomerScore):
    """A customer's score with the batch it comes from."""

    batch_id: str
    as_of: str
    scored_at: str
    churn_model_version: str
    clv_model_version: str


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[CustomerId] = Field(min_length=1, max_length=MAX_ITEMS,
                                           description=f"1 to {MAX_ITEMS:,} customer ids.")


class LookupResponse(BaseModel):
    batch: BatchMeta
    found: list[CustomerScore] = Field(description="Scores of the known ids, in request order, once each.")
    unknown_ids: list[str] = Field(description="Requested ids without a score in this batch.")


class AtRiskPage(BaseModel):
    batch: BatchMeta
    items: list[CustomerScore] = Field(description="Ordered by value at risk (or, with order=value_saved, by "
                                                   "value saved), highest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ScoredRow(BaseModel):
    customer_id: str
    churn_probability: float | None
    risk_tier: Tier | None
    p_alive: float | None
    expected_purchases: float | None
    clv: float | None
    clv_low: float | None = Field(default=None, description=CLV_LOW)
    clv_high: float | None = Field(default=None, description=CLV_HIGH)
    value_at_risk: float | None
    reasons: list[str]
    best_action: ActionName | None
    value_saved: float | None = Field(description="Value saved by the best action (0 when none). " + ESTIMATE_NOTE)
    actions: list[ActionEstimate] = Field(description="Every action that applies to the customer, best first.")


class ScoreResponse(BaseModel):
    churn_model_version: str
    clv_model_version: str
    results: list[ScoredRow] = Field(description="One result per request row, in order.")


# --- The feature row of POST /v1/score, from the catalogue (each entry's valid range and values) ------------

def _field(feature: Feature) -> tuple[Any, Any]:
    if feature.kind == "category":
        values = feature.values
        kind: Any = (Literal[values] if values  # type: ignore[valid-type]
                     else Annotated[str, StringConstraints(max_length=MAX_CATEGORY_LENGTH)])
        return kind | None, Field(default=None, description=feature.definition)
    low, high = feature.valid_range
    number = confloat(strict=True, ge=low, le=high, allow_inf_nan=False)  # no "1" or true for 1.0
    default = 0.0 if feature.zero_when_absent else None
    note = " Missing means 0." if feature.zero_when_absent else " May be null or missing."
    return number | None, Field(default=default, description=feature.definition + note)


def rfm_order_problem(frequency: float | None, recency: float | None, periods: float | None) -> str | None:
    """Why frequency <= recency <= T does not hold (the feature pipeline's lifetimes conventions), or None."""
    if recency is not None and periods is not None and recency > periods:
        return f"recency ({recency:g}) must not exceed T ({periods:g})"
    if frequency is not None and recency is not None and frequency > recency:
        return f"frequency ({frequency:g}) must not exceed recency ({recency:g})"
    return None


def _rfm_in_order(row: BaseModel) -> BaseModel:
    problem = rfm_order_problem(*(getattr(row, name, None) for name in RFM_ORDER))
    if problem:
        raise ValueError(problem)
    return row


def feature_fields(features: Sequence[Feature]) -> dict[str, tuple[Any, Any]]:
    """Type and field info of every column a feature row may carry: customer_id, as_of and the catalogue's."""
    fields: dict[str, tuple[Any, Any]] = {
        "customer_id": (CustomerId, Field(description="The customer the row describes.")),
        "as_of": (IsoDate | None, Field(default=None, description="Cutoff day of the features (informative).")),
    }
    fields.update({feature.name: _field(feature) for feature in features})
    return fields


def feature_row_model(fields: dict[str, tuple[Any, Any]]) -> type[BaseModel]:
    """The pydantic model of one feature row, from `feature_fields`; unknown keys refused."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        "FeatureRow", __config__=ConfigDict(extra="forbid"),
        __validators__={"rfm_in_order": model_validator(mode="after")(_rfm_in_order)},  # type: ignore[dict-item]
        **fields,
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can answer."""
    described = {
        401: "No API key, or an unknown one (send it as X-API-Key).",
        403: "The API key's role may not do this.",
        404: "No such customer in the served batch.",
        409: "The cursor belongs to a batch that is no longer served.",
        413: "The request body is too large.",
        422: "A part of the request is missing or invalid; each message names the field.",
        503: "The score batch or the models are not loaded.",
    }
    return {code: {"model": FieldErrors if code == 422 else ErrorMessage, "description": described[code]}
            for code in codes}
