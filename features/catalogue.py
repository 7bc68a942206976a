"""The feature catalogue: every feature's name, family, kind and one-line definition, declared next to its
transform (each family module exports `catalogue(windows)`), collected here and rendered as docs.

The kind says how a customer with no underlying events is filled: counts and totals become 0, everything
else (rates, scores, RFM periods, days since, categories) stays missing, so that models can tell "no contact"
from "bad contact".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

FeatureKind = Literal["count", "total", "period", "rate", "score", "days", "amount", "category"]


class Feature(BaseModel):
    """One column of the feature table."""

    model_config = ConfigDict(frozen=True)

    name: str
    family: str
    kind: FeatureKind
    definition: str

    @property
    def zero_when_absent(self) -> bool:
        return self.kind in ("count", "total")


def windowed(family: str, kind: FeatureKind, stem: str, definition: str,
             windows: Sequence[int]) -> list[Feature]:
    """One feature per look-back window: `{stem}_{w}d`, definition with `{w}` filled in."""
    return [Feature(name=f"{stem}_{w}d", family=family, kind=kind, definition=definition.format(w=w))
            for w in windows]


def markdown(features: Sequence[Feature]) -> str:
    """The catalogue as a Markdown table, grouped by family."""
    lines = ["| feature | family | kind | definition |", "|---|---|---|---|"]
    lines += [f"| `{f.name}` | {f.family} | {f.kind} | {f.definition} |" for f in features]
    return "\n".join(lines)
