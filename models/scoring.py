"""The one scoring core: feature rows in, everything the product says about each customer out.

`score(scorer, block)` gives churn probability and risk tier, P(alive), expected purchases, CLV, value at risk
(CLV x churn probability), the top reasons, and for each next best action the churn probability after it and
the value it saves (`models.actions`), with the best action. The batch job, the API's on-demand scoring and
Spark all call it; they differ only in how they build the `FeatureBlock` (a DataFrame, a validated request table)
and what they do with the `Scores` (a Parquet batch, JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from features.catalogue import Feature
from features.rfm import RFM_COLUMNS
from models.actions import ActionTable, action_effects
from models.churn import ChurnModel
from models.clv import CLV_OUTPUTS, ClvModel
from models.population import RetentionPopulation, TierThresholds
from models.reasons import ColumnTexts, ReasonTable, column_wordings, reason_table
from retain.actions import ACTION_NAMES

TWO_THREADS_FROM = 256  # rows; below this, starting a second thread costs more than it saves
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
ACTION_COLUMNS = tuple(f"{figure}_{name}" for name in ACTION_NAMES
                       for figure in ("churn_probability_after", "value_saved"))


@dataclass(frozen=True)
class Scorer:
    """The champion models with the versions they were loaded as, and the settings scoring needs."""

    churn: ChurnModel
    clv: ClvModel
    churn_version: str
    clv_version: str
    horizon_months: int
    monthly_discount_rate: float
    thresholds: TierThresholds
    population: RetentionPopulation = RetentionPopulation()
    features: Mapping[str, Feature] = field(default_factory=dict)  # the catalogue, for reason wording

    @cached_property
    def wordings(self) -> ColumnTexts:
        """The reason wording of each churn model column, keeping the texts made (see `ColumnTexts`)."""
        return ColumnTexts(column_wordings(self.churn.space, self.features))

    @cached_property
    def clv_service_positions(self) -> np.ndarray:
        """Where each service feature of the CLV model's correction sits among the churn model's numeric
        columns (a `FeatureBlock`'s `numeric`), -1 where the churn model lacks it (read as missing)."""
        names = self.clv.correction.service if self.clv.correction is not None else ()
        index = {name: i for i, name in enumerate(self.churn.space.numeric)}
        return np.array([index.get(name, -1) for name in names], dtype=np.int64)

    @property
    def input_columns(self) -> list[str]:
        """The feature columns scoring reads (the churn model's and the CLV model's RFM)."""
        space = self.churn.space
        return list(dict.fromkeys([*space.numeric, *space.categories, *RFM_COLUMNS]))


@dataclass(frozen=True)
class FeatureBlock:
    """Feature rows as scoring reads them: ids, the churn model's numeric columns (in its order), each
    categorical as strings or None, and the RFM columns (in `RFM_COLUMNS` order), missing values as NaN."""

    customer_ids: np.ndarray
    numeric: np.ndarray
    categories: Mapping[str, np.ndarray]
    rfm: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, scorer: Scorer) -> FeatureBlock:
        space = scorer.churn.space
        return cls(customer_ids=frame["customer_id"].astype(str).to_numpy(dtype=object),
                   numeric=frame[list(space.numeric)].to_numpy(dtype=np.float32, na_value=np.nan),
                   categories=space.category_values(frame),
                   rfm=frame[list(RFM_COLUMNS)].to_numpy(dtype=np.float64, na_value=np.nan))


@dataclass(frozen=True)
class Scores:
    """Per customer, in the block's order; CLV figures are NaN for a customer without a purchase."""

    customer_ids: np.ndarray
    churn_probability: np.ndarray
    risk_tier: np.ndarray
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    clv: np.ndarray
    value_at_risk: np.ndarray
    reasons: ReasonTable
    actions: ActionTable
    best_action: np.ndarray
    value_saved: np.ndarray
    clv_low: np.ndarray | None = None  # the 80% interval of `clv`; None reads as the point value
    clv_high: np.ndarray | None = None

    def clv_interval(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.clv if self.clv_low is None else self.clv_low,
                self.clv if self.clv_high is None else self.clv_high)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def frame(self) -> pd.DataFrame:
        """One row per customer with the reasons in `REASON_COLUMNS` (None where fewer), the best action and
        its value saved, and each action's figures in `ACTION_COLUMNS`. Text columns are typed `str` even when
        every value is missing, so frames of any rows (a batch scored in chunks) concatenate to the same types."""
        return pd.DataFrame({
            "customer_id": _text(self.customer_ids), "churn_probability": self.churn_probability,
            "risk_tier": _text(self.risk_tier), "p_alive": self.p_alive, "expected_purchases": self.expected_purchases,
            "clv": self.clv, "clv_low": self.clv_interval()[0], "clv_high": self.clv_interval()[1],
            "value_at_risk": self.value_at_risk,
            **{name: _text(self.reasons.column(k)) for k, name in enumerate(REASON_COLUMNS)},
            "best_action": _text(self.best_action), "value_saved": self.value_saved,
            **{f"{figure}_{name}": getattr(self.actions, figure)[name] for name in ACTION_NAMES
               for figure in ("churn_probability_after", "value_saved")},
        })

    def records(self) -> list[dict[str, Any]]:
        """Plain JSON-ready dicts, non-finite figures as None. (Dict displays: a third of what `dict(zip(...))`
        costs per row, which a 1,000-row API answer notices.)"""
        columns = zip(self.customer_ids.tolist(), _json_floats(self.churn_probability), self.risk_tier.tolist(),
                      _json_floats(self.p_alive), _json_floats(self.expected_purchases), _json_floats(self.clv),
                      _json_floats(self.value_at_risk), self.reasons.lists(), self.best_action.tolist(),
                      self.value_saved.tolist(), action_lists(self.actions), *map(_json_floats, self.clv_interval()),
                      strict=True)
        return [{"customer_id": customer_id, "churn_probability": probability, "risk_tier": tier, "p_alive": alive,
                 "expected_purchases": purchases, "clv": clv, "clv_low": low, "clv_high": high,
                 "value_at_risk": at_risk, "reasons": reasons,
                 "best_action": best, "value_saved": saved, "actions": actions}
                for customer_id, probability, tier, alive, purchases, clv, at_risk, reasons, best, saved, actions, low,
                high in columns]


def action_lists(actions: ActionTable) -> list[list[dict[str, Any]]]:
    """Per customer, the actions that apply as `{action, churn_probability_after, value_saved}`, best first."""
    after = np.column_stack([actions.churn_probability_after[name] for name in ACTION_NAMES])
    saved = np.column_stack([actions.value_saved[name] for name in ACTION_NAMES])
    order = np.argsort(-saved, axis=1, kind="stable")
    lists: list[list[dict[str, Any]]] = []
    for row_after, row_saved, row_order in zip(after.tolist(), saved.tolist(), order.tolist(), strict=True):
        lists.append([{"action": ACTION_NAMES[k], "churn_probability_after": row_after[k],
                       "value_saved": row_saved[k]} for k in row_order if row_after[k] == row_after[k]])
    return lists


def score(scorer: Scorer, block: FeatureBlock) -> Scores:
    """Everything per customer: churn probability and contributions from the trees, and one pass of the CLV
    curve."""
    matrix = scorer.churn.space.assemble(block.numeric, block.categories)
    probability, value, contributions = _trees_and_curve(scorer, matrix, block)
    clv = value[:, CLV_OUTPUTS.index("clv")]
    p_alive = value[:, CLV_OUTPUTS.index("p_alive")]
    member = scorer.population.members(block.rfm, p_alive, scorer.clv.unit)
    space = scorer.churn.space

    def score_rows(numeric: np.ndarray, rows: np.ndarray) -> np.ndarray:
        categories = {name: values[rows] for name, values in block.categories.items()}
        return scorer.churn.probability(space.assemble(numeric, categories))

    actions = action_effects(block.numeric, space.numeric, scorer.features, probability, clv, score_rows)
    best_action, value_saved = actions.best()
    return Scores(
        customer_ids=np.asarray(block.customer_ids, dtype=object),
        churn_probability=probability,
        risk_tier=scorer.thresholds.tiers(probability, member),
        p_alive=p_alive,
        expected_purchases=value[:, CLV_OUTPUTS.index("expected_purchases")],
        clv=clv,
        value_at_risk=clv * probability,
        reasons=reason_table(contributions, matrix, scorer.wordings),
        actions=actions, best_action=best_action, value_saved=value_saved,
        clv_low=value[:, CLV_OUTPUTS.index("clv_low")],
        clv_high=value[:, CLV_OUTPUTS.index("clv_high")],
    )


def _clv_service(scorer: Scorer, block: FeatureBlock) -> np.ndarray | None:
    """The CLV correction's service features from the block's numeric columns (NaN where absent)."""
    positions = scorer.clv_service_positions
    if not len(positions):
        return None
    values = block.numeric[:, np.maximum(positions, 0)].astype(np.float64)
    values[:, positions < 0] = np.nan
    return values


def _trees_and_curve(scorer: Scorer, matrix: np.ndarray, block: FeatureBlock) -> tuple[np.ndarray, ...]:
    """Churn probability, CLV outputs and contributions. From `TWO_THREADS_FROM` rows, the probability and the
    CLV curve run on a second thread while this one computes the contributions: XGBoost and numpy release the
    GIL, so a 1,000-row call uses both cores (measured: 17 -> 13-15 ms for these three on 1,000 rows)."""
    def alongside() -> tuple[np.ndarray, np.ndarray]:
        return (scorer.churn.probability(matrix),
                scorer.clv.outputs(block.rfm, scorer.horizon_months, scorer.monthly_discount_rate,
                                   _clv_service(scorer, block)))

    if len(matrix) < TWO_THREADS_FROM:
        return (*alongside(), scorer.churn.contributions(matrix))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retain-score") as second:
        pending = second.submit(alongside)
        contributions = scorer.churn.contributions(matrix)
        probability, value = pending.result()
    return probability, value, contributions


def _text(values: Any) -> pd.api.extensions.ExtensionArray:
    return pd.array(values, dtype="str")


def _json_floats(array: np.ndarray) -> list[float | None]:
    values: list[float | None] = array.tolist()
    for i in np.flatnonzero(~np.isfinite(array)).tolist():
        values[i] = None
    return values
