"""A fitted CLV model: a buy-till-you-die model for how often customers buy (BG/NBD, MBG/NBD or Pareto/NBD,
`models.btyd`), Gamma-Gamma for how much, in an explicit time unit; optionally a learned correction (the hybrid)
and an 80% interval table (`models.clv_hybrid`).

Every prediction is in the unit the model was fitted in, because lifetimes' CLV silently reads months wrong
when told another unit. The formulas are lifetimes' (Fader, Hardie and Lee 2005; Fader and Hardie's
Gamma-Gamma note) written out in numpy, so scoring needs neither lifetimes nor its fitters; tests hold them
equal to lifetimes. `training.clv` fits the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

from features.rfm import RFM_COLUMNS
from models import btyd
from models.btyd import PurchaseModel
from models.clv_hybrid import Correction, IntervalTable

TimeUnit = Literal["D", "W"]
# A "month" as lifetimes' customer_lifetime_value counts it in each unit (lifetimes/utils.py, factor dict).
MONTH_IN_UNITS: dict[str, float] = {"D": 30.0, "W": 4.345}
PURCHASE_COLUMNS = RFM_COLUMNS[:3]  # frequency, recency, T: all BG/NBD reads
CLV_OUTPUTS = ("p_alive", "expected_purchases", "expected_spend", "clv", "clv_low", "clv_high")
DISTINCT_ROWS_FROM = 10_000  # below this, deduplicating rows before the CLV curve costs more than it saves


@dataclass(frozen=True)
class FitAttempt:
    """One try of one sub-model at one penalizer, with what happened (the scipy message or the bad params)."""

    model: Literal["bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"]
    penalizer: float
    outcome: Literal["converged", "convergence_error", "invalid_params"]
    detail: str = ""


@dataclass(frozen=True)
class ClvModel:
    """Fitted purchase-model (r, alpha, a, b: BG/NBD's names; `btyd.PARAM_NAMES` for the others) and
    Gamma-Gamma (p, q, v) parameters in `unit`, how they were got, and what was chosen on the validation
    window: `purchase_model`, the hybrid's `correction` (None: BTYD alone) and the `interval` table (None: the
    interval is the point value).

    Predictions take RFM frames in the lifetimes conventions and return Series aligned to the input's index.
    """

    unit: TimeUnit
    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    v: float
    bgnbd_penalizer: float
    gamma_gamma_penalizer: float
    attempts: tuple[FitAttempt, ...] = ()
    purchase_model: PurchaseModel = "bgnbd"
    correction: Correction | None = None
    interval: IntervalTable | None = None

    @property
    def params(self) -> dict[str, float]:
        """The seven model parameters by their lifetimes names."""
        names = btyd.PARAM_NAMES[self.purchase_model]
        purchase = (self.r, self.alpha, self.a, self.b)
        return {**dict(zip(names, purchase, strict=True)), "p": self.p, "q": self.q, "v": self.v}

    @property
    def _purchase_params(self) -> tuple[float, float, float, float]:
        return self.r, self.alpha, self.a, self.b

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(customer still active at their T), BG/NBD; 1 for a customer without repeat purchases."""
        return pd.Series(self._p_alive(*_frt(rfm)), index=rfm.index, name="p_alive")

    def _p_alive(self, f: np.ndarray, rec: np.ndarray, t: np.ndarray) -> np.ndarray:
        if self.purchase_model != "bgnbd":
            return btyd.p_alive(self.purchase_model, self._purchase_params, f, rec, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_div = (r + f) * np.log((alpha + t) / (alpha + rec)) + np.log(a / (b + np.maximum(f, 1) - 1))
        return np.where(f == 0, 1.0, expit(-log_div))

    def expected_purchases(self, rfm: pd.DataFrame, periods: float | np.ndarray) -> pd.Series:
        """Expected repeat purchase periods in the next `periods` units (a scalar, or one per row by
        position)."""
        f, rec, t = _frt(rfm)
        horizon = np.broadcast_to(np.asarray(periods, dtype=float), f.shape)
        values = self._conditional_expected_purchases(horizon, f, rec, t)
        return pd.Series(values, index=rfm.index, name="expected_purchases")

    def _conditional_expected_purchases(self, horizon: np.ndarray, f: np.ndarray, rec: np.ndarray,
                                        t: np.ndarray) -> np.ndarray:
        """lifetimes' BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time (Fader, Hardie and Lee
        2005, eq. 10), term for term, except that the fallback form of the hypergeometric term is computed only
        where the direct one overflows: lifetimes computes both everywhere, and the hypergeometric function
        is most of the cost of the 12 monthly evaluations behind every CLV. Other purchase models: lifetimes'."""
        if self.purchase_model != "bgnbd":
            return btyd.expected_purchases(self.purchase_model, self._purchase_params, horizon, f, rec, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        first, second, third = r + f, b + f, a + b + f - 1
        z = horizon / (alpha + t + horizon)
        with np.errstate(divide="ignore"):
            ln_hyp = np.log(hyp2f1(first, second, third, z))
        overflow = np.isinf(ln_hyp)
        if overflow.any():
            c, az, bz, zz = third[overflow], first[overflow], second[overflow], z[overflow]
            ln_hyp[overflow] = np.log(hyp2f1(c - az, c - bz, c, zz)) + (c - az - bz) * np.log(1 - zz)
        numerator = third / (a - 1) * (1 - np.exp(ln_hyp + first * np.log((alpha + t) / (alpha + horizon + t))))
        repeat = f > 0  # b + f - 1 is 0 for f = 0 when b = 1: lifetimes' (f > 0) * (...) would give 0 * inf = NaN
        denominator = 1 + np.where(repeat, a / np.where(repeat, second - 1, 1.0), 0.0) * (
            (alpha + t) / (alpha + rec)) ** first
        return np.asarray(numerator / denominator, dtype=float)

    def window_purchases(self, rfm: np.ndarray, horizon: float | np.ndarray,
                         service: np.ndarray | None = None) -> np.ndarray:
        """Expected repeat purchases in the next `horizon` units per row of an (n, 4) RFM matrix without missing
        values: the purchase model's, times the correction's ratio when the model carries one."""
        f, rec, t, _ = rfm.T
        base = self._conditional_expected_purchases(np.broadcast_to(np.asarray(horizon, dtype=float), f.shape),
                                                    f, rec, t)
        if self.correction is None:
            return base
        return base * self.correction.ratio(self.correction_inputs(rfm, self._p_alive(f, rec, t), service))

    def population_expected_purchases(self, t: np.ndarray) -> np.ndarray:
        """Expected repeat purchases within `t` units of a new customer's first purchase (unconditional)."""
        if self.purchase_model != "bgnbd":
            model = btyd.fitter(self.purchase_model, self._purchase_params)
            return np.asarray(model.expected_number_of_purchases_up_to_time(np.asarray(t, dtype=float)), dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return np.asarray((a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r), dtype=float)

    def expected_spend(self, rfm: pd.DataFrame) -> pd.Series:
        """Expected mean spend per purchase period (Gamma-Gamma), the population mean for one-time buyers."""
        f = rfm["frequency"].to_numpy(float)
        spend = self._expected_spend(f, rfm["monetary_value"].to_numpy(float))
        return pd.Series(spend, index=rfm.index, name="expected_spend")

    def _expected_spend(self, f: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        p, q, v = self.p, self.q, self.v
        m = np.where(f > 0, monetary_value, 0.0)
        individual_weight = p * f / (p * f + q - 1)
        return (1 - individual_weight) * (v * p / (q - 1)) + individual_weight * m

    def clv(self, rfm: pd.DataFrame, months: int, monthly_discount_rate: float) -> pd.Series:
        """Discounted expected spend over `months`, exactly as lifetimes' customer_lifetime_value with
        freq=self.unit (month i is i*MONTH_IN_UNITS[unit] units, discounted by (1+d)^i)."""
        _, discounted = self._purchase_curve(np.column_stack(_frt(rfm)), months, monthly_discount_rate)
        return pd.Series(discounted * self.expected_spend(rfm).to_numpy(), index=rfm.index, name="clv")

    def figures(self, rfm: pd.DataFrame, months: int, monthly_discount_rate: float) -> pd.DataFrame:
        """P(alive), expected purchases over `months`, expected spend per purchase and CLV (`CLV_OUTPUTS`)."""
        values = self.outputs(rfm[list(RFM_COLUMNS)].to_numpy(dtype=float, na_value=np.nan), months,
                              monthly_discount_rate)
        return pd.DataFrame(values, columns=list(CLV_OUTPUTS), index=rfm.index)

    def outputs(self, rfm: np.ndarray, months: int, monthly_discount_rate: float,
                service: np.ndarray | None = None) -> np.ndarray:
        """`CLV_OUTPUTS` per row of an (n, 4) RFM matrix in `RFM_COLUMNS` order, in one pass (the CLV's
        monthly purchase curve ends at the horizon's expected purchases); rows with a missing value (a customer
        without a purchase) get NaN. `service`: the correction's service features (n, len(service)) in its
        order, NaN where unknown; only read when the model carries a correction."""
        out = np.full((len(rfm), len(CLV_OUTPUTS)), np.nan)
        known = ~np.isnan(rfm).any(axis=1)
        if known.any():
            values = rfm[known]
            f, rec, t, m = values.T
            purchases, discounted = self._purchase_curve(values[:, :3], months, monthly_discount_rate)
            alive = self._p_alive(f, rec, t)
            if self.correction is not None:
                extra = service[known] if service is not None else None
                ratio = self.correction.ratio(self.correction_inputs(values, alive, extra))
                purchases, discounted = purchases * ratio, discounted * ratio
            spend = self._expected_spend(f, m)
            clv = discounted * spend
            low, high = self.interval.bounds(purchases, clv) if self.interval is not None else (clv, clv)
            out[known] = np.column_stack([alive, purchases, spend, clv, low, high])
        return out

    def correction_inputs(self, rfm: np.ndarray, alive: np.ndarray, service: np.ndarray | None) -> np.ndarray:
        """The correction's input rows (`CORRECTION_INPUTS` then its service features) for known RFM rows."""
        assert self.correction is not None
        f, rec, t, _ = rfm.T
        horizon = np.full(len(rfm), self.correction.horizon)
        base = self._conditional_expected_purchases(horizon, f, rec, t)
        width = len(self.correction.service)
        extra = service if service is not None and service.shape[1] == width else np.full((len(rfm), width), np.nan)
        return np.column_stack([rfm, alive, base, extra])

    def _purchase_curve(self, values: np.ndarray, months: int, monthly_discount_rate: float
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Expected purchases by the end of month `months`, and the same purchases month by month discounted,
        for an (n, 3) frequency/recency/T matrix.

        All months go through the hypergeometric function in one vectorised call. It depends on (frequency,
        recency, T) only, so a large frame is computed once per distinct row: 12 evaluations on 1M rows
        take seconds, on their ~50k distinct rows a fraction."""
        rows, position = _distinct_rows(values) if len(values) >= DISTINCT_ROWS_FROM else (values, None)
        n = len(rows)
        month_ends = np.arange(1, months + 1) * MONTH_IN_UNITS[self.unit]
        f, rec, t = (np.tile(column, months) for column in rows.T)
        cumulative = self._conditional_expected_purchases(np.repeat(month_ends, n), f, rec, t).reshape(months, n)
        per_month = np.diff(cumulative, axis=0, prepend=0.0)
        discount = (1.0 + monthly_discount_rate) ** np.arange(1, months + 1)
        discounted = (per_month / discount[:, None]).sum(axis=0)
        by_end = cumulative[-1] if months else np.zeros(n)
        if position is None:
            return by_end, discounted
        return by_end[position], discounted[position]


def _distinct_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a 2-D array and each row's position among them; a hash groupby, because
    np.unique(axis=0) sorts and is ~15x slower on a million rows."""
    frame = pd.DataFrame(values)
    codes = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return values[first], codes


def _frt(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(rfm[c].to_numpy(dtype=float) for c in PURCHASE_COLUMNS)  # type: ignore[return-value]


def attempts_from(stored: Sequence[dict[str, object]]) -> tuple[FitAttempt, ...]:
    return tuple(FitAttempt(**attempt) for attempt in stored)  # type: ignore[arg-type]
