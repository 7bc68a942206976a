"""The churn model's feature space: which columns it reads, in order, and each categorical's vocabulary.

Model columns have names XGBoost accepts whatever the data holds: a categorical's one-hot columns are named by
position (`segment#0`, `segment#1`), and `labels` keeps what a person reads (`segment=Gold [legacy]`). A
customer's segment or country can be any text the data contract allows (brackets, `<`, quotes, emoji), and
XGBoost refuses feature names with `[`, `]` or `<`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from features.catalogue import Feature

MAX_CATEGORIES = 50


class FeatureSpace(BaseModel):
    """Numeric features as they are, then one 0/1 column per known value of each categorical."""

    model_config = ConfigDict(frozen=True)

    numeric: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    directions: dict[str, int] = {}  # monotone sign per numeric feature, from the catalogue; absent means 0

    @property
    def columns(self) -> list[str]:
        """Model column names, in matrix order (safe for XGBoost)."""
        return [*self.numeric, *(f"{name}#{i}" for name, vocab in self.categories.items() for i in range(len(vocab)))]

    @property
    def labels(self) -> list[str]:
        """Human column names, in matrix order: a one-hot column reads `feature=value`."""
        return [*self.numeric, *(f"{name}={value}" for name, vocab in self.categories.items() for value in vocab)]

    @property
    def sources(self) -> list[tuple[str, str | None]]:
        """Per model column: the feature it comes from and, for a one-hot column, the level it marks."""
        return [*((name, None) for name in self.numeric),
                *((name, value) for name, vocab in self.categories.items() for value in vocab)]

    @classmethod
    def learn(cls, frame: pd.DataFrame, features: Sequence[Feature]) -> FeatureSpace:
        """Numeric features as they are; each categorical's most frequent values (others map to none)."""
        numeric = tuple(f.name for f in features if f.kind != "category")
        categories = {
            f.name: tuple(str(v) for v in frame[f.name].dropna().value_counts().index[:MAX_CATEGORIES])
            for f in features if f.kind == "category"
        }
        directions = {f.name: int(f.direction) for f in features if f.kind != "category" and f.direction}
        return cls(numeric=numeric, categories=categories, directions=directions)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """A float32 matrix in `columns` order; missing numerics are NaN, unknown categories all-zero."""
        return self.assemble(frame[list(self.numeric)].to_numpy(dtype=np.float32, na_value=np.nan),
                             self.category_values(frame))

    def category_values(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each categorical column as an object array of strings or None."""
        return {name: frame[name].astype("string").to_numpy(dtype=object, na_value=None) for name in self.categories}

    def assemble(self, numeric: np.ndarray, categories: Mapping[str, np.ndarray]) -> np.ndarray:
        """The matrix from the numeric columns (in `numeric` order) and each categorical's values as an object
        array of strings or None: one-hot over its vocabulary, so an unknown or missing value is all-zero."""
        parts = [numeric.astype(np.float32, copy=False)]
        for name, vocab in self.categories.items():
            values = categories[name]
            parts.append((values[:, None] == np.asarray(vocab, dtype=object)[None, :]).astype(np.float32))
        return np.hstack(parts)

    def monotone_constraints(self) -> str:
        """XGBoost's constraint string: each feature's catalogue direction (e.g. worse sentiment may only
        raise churn), 0 for one-hot columns."""
        signs = [self.directions.get(name, 0) for name in self.numeric]
        signs += [0] * (len(self.columns) - len(self.numeric))
        return "(" + ",".join(map(str, signs)) + ")"
