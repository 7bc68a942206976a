"""The feature catalogue: the one place each feature's facts live, declared next to its transform (each family
module exports `catalogue(windows)`), collected here and rendered as docs.

An entry says what a column is (family, kind, unit, dtype), which values are valid, what a missing value means,
which way it may push the churn score (the model's monotone constraint), whether a retention team can act on
it, and how to word it as a reason for an agent. Request schemas, monotone constraints, the service-feature
list, reason wording and `docs/feature_catalogue.md` are all generated from these entries, so adding a
feature is one entry plus its expression.

The kind says how a customer with no underlying events is filled: counts and totals become 0, everything
else (rates, scores, RFM periods, days since, categories) stays missing, so that models can tell "no contact"
from "bad contact".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FeatureKind = Literal["count", "total", "period", "rate", "score", "days", "amount", "category"]
Family = Literal["rfm", "effort", "resolution", "sentiment", "survey", "customer"]
Dtype = Literal["int64", "float64", "string"]
Direction = Literal[-1, 0, 1]

SERVICE_FAMILIES: tuple[Family, ...] = ("effort", "resolution", "sentiment", "survey")
# Plain limits by kind, for entries that name no range of their own; they also keep values finite in float32.
KIND_RANGES: dict[str, tuple[float, float]] = {
    "count": (0, 1e9), "total": (0, 1e12), "period": (0, 1e6), "rate": (0, 1e9), "days": (0, 1e6),
    "amount": (0, 1e12), "score": (-1e6, 1e6),
}
KIND_DTYPES: dict[str, Dtype] = {"count": "int64", "category": "string"}  # every other kind: float64
KIND_MISSING: dict[str, str] = {
    "count": "never missing: 0 without events", "total": "never missing: 0 without events",
    "category": "not recorded",
}


class Wording(BaseModel):
    """How a feature's value reads as a reason: `render(value, window)` gets the value (a float, or the text
    of a category when `numeric` is False) and the window phrase (" in 30 days", or "" without a window);
    `missing` words a missing value, its "{window}" becoming the window phrase or " on record";
    `other_level` words a one-hot level the customer does not have ("{feature}" and "{level}" filled in)."""

    model_config = ConfigDict(frozen=True)

    render: Callable[[Any, str], str]
    missing: str
    numeric: bool = True
    other_level: str = "{feature} is not {level}"


class Feature(BaseModel):
    """One column of the feature table, with every fact the rest of the product needs about it."""

    model_config = ConfigDict(frozen=True)

    name: str
    family: Family
    kind: FeatureKind
    definition: str
    unit: str = Field(default="", description="Unit of the value, e.g. days, contacts, share, CES points.")
    window: int | None = Field(default=None, description="Look-back window in days, if windowed.")
    low: float | None = Field(default=None, description="Smallest valid value (default: by kind).")
    high: float | None = Field(default=None, description="Largest valid value (default: by kind).")
    values: tuple[str, ...] | None = Field(default=None, description="The only valid values of a category.")
    dtype_override: Dtype | None = Field(default=None, description="Column type, when not the kind's.")
    missing_means: str = Field(default="", description="What a missing value means (default: by kind).")
    direction: Direction = Field(default=0, description="+1: may only raise churn as it grows; -1: only lower.")
    # actionable: a retention team can move the value through the service it gives (resolve or own a case, route
    # to the right agent first time, call back after a bad contact), so it may name a next-best action; facts
    # about the customer (purchases, tenure, segment) and their verdicts on past service (CSAT, NPS) are not.
    actionable: bool = Field(default=False, description="A retention team can change it through its service.")
    reason: Wording | None = Field(default=None, exclude=True, description="How it reads as a reason.")

    @property
    def zero_when_absent(self) -> bool:
        return self.kind in ("count", "total")

    @property
    def dtype(self) -> Dtype:
        """The one column type of this feature, everywhere it is written or read."""
        return self.dtype_override or KIND_DTYPES.get(self.kind, "float64")

    @property
    def valid_range(self) -> tuple[float, float]:
        """(low, high) of a numeric feature; a category has `values` (or any text) instead."""
        if self.kind == "category":
            raise ValueError(f"{self.name} is a category: no numeric range")
        default_low, default_high = KIND_RANGES[self.kind]
        return (default_low if self.low is None else self.low, default_high if self.high is None else self.high)

    @property
    def missing(self) -> str:
        return self.missing_means or KIND_MISSING.get(self.kind, "nothing to measure")

    @property
    def is_service(self) -> bool:
        return self.family in SERVICE_FAMILIES


def windowed(family: Family, kind: FeatureKind, stem: str, definition: str, windows: Sequence[int],
             **facts: Any) -> list[Feature]:
    """One feature per look-back window: `{stem}_{w}d`, definition with `{w}` filled in, the same facts."""
    return [Feature(name=f"{stem}_{w}d", family=family, kind=kind, definition=definition.format(w=w), window=w,
                    **facts) for w in windows]


def markdown(features: Sequence[Feature]) -> str:
    """The catalogue as a Markdown table, grouped by family."""
    lines = ["| feature | family | kind | type | unit | valid range | missing means | churn direction | actionable "
             "| definition |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in features:
        valid = (", ".join(f.values) if f.values else "any text") if f.kind == "category" else (
            "{:g} .. {:g}".format(*f.valid_range))
        direction = {1: "higher raises", -1: "higher lowers", 0: "either"}[f.direction]
        lines.append(f"| `{f.name}` | {f.family} | {f.kind} | {f.dtype} | {f.unit} | {valid} | {f.missing} "
                     f"| {direction} | {'yes' if f.actionable else ''} | {f.definition} |")
    return "\n".join(lines)
