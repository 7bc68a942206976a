"""CLV model: BG/NBD for how often customers buy, Gamma-Gamma for how much, fitted with `lifetimes`.

Input is an RFM frame in the lifetimes conventions (frequency = repeat purchase periods, recency = age at the
last purchase period, T = age at the cutoff, monetary_value = mean spend per repeat period) with its time unit
stated explicitly, because every prediction of the fitted model is in that unit and lifetimes' CLV silently
reads months wrong when told another unit. The likelihoods only depend on the distinct (frequency, recency, T)
rows, so the fits run on grouped rows with `weights`: same parameters, a fraction of the time. A fit that does
not converge is retried up a penalizer ladder, and every attempt is kept for the tracking module to log.
Nothing here touches files, MLflow, the clock or global random state.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import hyp2f1

from retain.errors import RetainError

with warnings.catch_warnings():  # lifetimes 0.11.3 emits a Pandas4Warning on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

TimeUnit = Literal["D", "W"]
DEFAULT_PENALIZERS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
# A "month" as lifetimes' customer_lifetime_value counts it in each unit (lifetimes/utils.py, factor dict).
MONTH_IN_UNITS: dict[str, float] = {"D": 30.0, "W": 4.345}
RFM_COLUMNS = ("frequency", "recency", "T")
DISTINCT_ROWS_FROM = 10_000  # below this, deduplicating rows before the CLV curve costs more than it saves


class ClvFitError(RetainError):
    """No rung of the penalizer ladder gave usable parameters; `attempts` says what each one did."""

    def __init__(self, message: str, attempts: Sequence[FitAttempt]) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


@dataclass(frozen=True)
class FitAttempt:
    """One try of one sub-model at one penalizer, with what happened (the scipy message or the bad params)."""

    model: Literal["bgnbd", "gamma_gamma"]
    penalizer: float
    outcome: Literal["converged", "convergence_error", "invalid_params"]
    detail: str = ""


@dataclass(frozen=True)
class ClvModel:
    """Fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v) parameters in `unit`, and how they were got.

    Holds plain floats only, so it pickles and logs as a dict; predictions rebuild the lifetimes fitters from
    the parameters and return Series aligned to the input's index.
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

    @property
    def params(self) -> dict[str, float]:
        """The seven model parameters by their lifetimes names."""
        return {k: getattr(self, k) for k in ("r", "alpha", "a", "b", "p", "q", "v")}

    def _bgf(self) -> BetaGeoFitter:
        bgf = BetaGeoFitter(self.bgnbd_penalizer)
        bgf.params_ = pd.Series({"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b})
        bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
        return bgf

    def _ggf(self) -> GammaGammaFitter:
        ggf = GammaGammaFitter(self.gamma_gamma_penalizer)
        ggf.params_ = pd.Series({"p": self.p, "q": self.q, "v": self.v})
        return ggf

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(customer still active at their T), BG/NBD."""
        f, rec, t = _frt(rfm)
        alive = self._bgf().conditional_probability_alive(f, rec, t)
        return pd.Series(alive, index=rfm.index, name="p_alive")

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
        is most of the cost of the 12 monthly evaluations behind every CLV."""
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
        denominator = 1 + (f > 0) * (a / (second - 1)) * ((alpha + t) / (alpha + rec)) ** first
        return np.asarray(numerator / denominator, dtype=float)

    def population_expected_purchases(self, t: np.ndarray) -> np.ndarray:
        """Expected repeat purchases within `t` units of a new customer's first purchase (unconditional)."""
        return np.asarray(self._bgf().expected_number_of_purchases_up_to_time(np.asarray(t, float)), float)

    def expected_spend(self, rfm: pd.DataFrame) -> pd.Series:
        """Expected mean spend per purchase period (Gamma-Gamma), the population mean for one-time buyers."""
        f = rfm["frequency"].to_numpy(float)
        m = np.where(f > 0, rfm["monetary_value"].to_numpy(float), 0.0)
        spend = self._ggf().conditional_expected_average_profit(f, m)
        return pd.Series(np.asarray(spend, dtype=float), index=rfm.index, name="expected_spend")

    def clv(self, rfm: pd.DataFrame, months: int, monthly_discount_rate: float) -> pd.Series:
        """Discounted expected spend over `months`, exactly as lifetimes' customer_lifetime_value with
        freq=self.unit (month i is i*MONTH_IN_UNITS[unit] units, discounted by (1+d)^i)."""
        _, discounted = self._purchase_curve(rfm, months, monthly_discount_rate)
        return pd.Series(discounted * self.expected_spend(rfm).to_numpy(), index=rfm.index, name="clv")

    def figures(self, rfm: pd.DataFrame, months: int, monthly_discount_rate: float) -> pd.DataFrame:
        """P(alive), expected purchases over `months`, expected spend per purchase and CLV, in one pass: the
        CLV's monthly purchase curve ends at the horizon's expected purchases, so nothing is computed twice."""
        purchases, discounted = self._purchase_curve(rfm, months, monthly_discount_rate)
        spend = self.expected_spend(rfm).to_numpy()
        return pd.DataFrame({"p_alive": self.p_alive(rfm).to_numpy(), "expected_purchases": purchases,
                             "expected_spend": spend, "clv": discounted * spend}, index=rfm.index)

    def _purchase_curve(self, rfm: pd.DataFrame, months: int, monthly_discount_rate: float
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Expected purchases by the end of month `months`, and the same purchases month by month discounted.

        All months go through the hypergeometric function in one vectorised call. It depends on (frequency,
        recency, T) only, so a large frame is computed once per distinct row: 12 evaluations on 1M rows
        take seconds, on their ~50k distinct rows a fraction."""
        values = np.column_stack(_frt(rfm))
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
    return tuple(rfm[c].to_numpy(dtype=float) for c in RFM_COLUMNS)  # type: ignore[return-value]


def check_rfm(rfm: pd.DataFrame, with_spend: bool = True) -> None:
    """Refuse an RFM frame that breaks the lifetimes conventions, naming the rule, before any fit."""
    columns = [*RFM_COLUMNS, "monetary_value"] if with_spend else list(RFM_COLUMNS)
    missing = [c for c in columns if c not in rfm.columns]
    if missing:
        raise ValueError(f"RFM frame lacks columns {missing}")
    if rfm.empty:
        raise ValueError("RFM frame is empty")
    values = rfm[columns].to_numpy(dtype=float)
    f, rec, t = values[:, 0], values[:, 1], values[:, 2]
    rules = {
        "values must be finite": np.isfinite(values).all(),
        "frequency must be a whole number >= 0": ((f >= 0) & (f == np.round(f))).all(),
        "0 <= recency <= T": ((rec >= 0) & (rec <= t)).all(),
        "recency must be 0 where frequency is 0": (rec[f == 0] == 0).all(),
        "monetary_value must be >= 0": not with_spend or (values[:, 3] >= 0).all(),
    }
    broken = [rule for rule, ok in rules.items() if not ok]
    if broken:
        raise ValueError(f"RFM frame breaks: {'; '.join(broken)}")


def _grouped(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Distinct rows of `columns` with how many customers share each: the likelihood's sufficient data."""
    return frame.groupby(columns, sort=False).size().reset_index(name="weights")


def _params_problem(params: pd.Series, model: str) -> str:
    """Why fitted parameters are unusable, or '' if they are fine."""
    if not np.all(np.isfinite(params.to_numpy())) or np.any(params.to_numpy() <= 0):
        return f"non-finite or non-positive parameters {params.round(6).to_dict()}"
    if model == "gamma_gamma" and params["q"] <= 1:
        return f"q={params['q']:.4g} <= 1: the Gamma-Gamma population mean spend is undefined"
    return ""


def _fit_ladder(model: Literal["bgnbd", "gamma_gamma"], fit: Callable[[float], pd.Series],
                penalizers: Sequence[float]) -> tuple[pd.Series, float, list[FitAttempt]]:
    """Fit at each penalizer in turn until the parameters are usable; lifetimes prints the scipy result on
    failure, so stdout is captured and its message kept in the attempt instead."""
    attempts: list[FitAttempt] = []
    for penalizer in penalizers:
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                params = fit(float(penalizer))
        except ConvergenceError:
            message = re.search(r"message: (.*)", printed.getvalue())
            detail = message.group(1).strip() if message else "scipy.optimize.minimize did not converge"
            attempts.append(FitAttempt(model, float(penalizer), "convergence_error", detail))
            continue
        problem = _params_problem(params, model)
        if problem:
            attempts.append(FitAttempt(model, float(penalizer), "invalid_params", problem))
            continue
        attempts.append(FitAttempt(model, float(penalizer), "converged"))
        return params, float(penalizer), attempts
    tried = "; ".join(f"penalizer {a.penalizer}: {a.outcome} ({a.detail})" for a in attempts)
    raise ClvFitError(f"{model} fit failed at every penalizer: {tried}", attempts)


def fit_bgnbd(rfm: pd.DataFrame, penalizers: Sequence[float] = DEFAULT_PENALIZERS
              ) -> tuple[dict[str, float], float, list[FitAttempt]]:
    """BG/NBD (r, alpha, a, b) on the distinct (frequency, recency, T) rows weighted by their counts, with
    the penalizer that worked and every attempt. Same optimum as the plain fit: lifetimes' likelihood is the
    weighted mean over rows.

    Customers first seen in the cutoff's own period (T = 0 in the model's unit, acquired "today") are left
    out of the fit: their likelihood is 1 whatever the parameters, so they carry no information, and they are
    scored by the population prior (the conditional formulas at T = 0 reduce to it)."""
    check_rfm(rfm, with_spend=False)
    observed = rfm[rfm["T"] > 0]
    if observed.empty:
        raise ClvFitError("every customer was first seen in the cutoff's own period (T = 0): nothing to fit "
                          "BG/NBD on; use a later cutoff", [])
    rows = _grouped(observed, list(RFM_COLUMNS))
    params, penalizer, attempts = _fit_ladder("bgnbd", lambda pen: BetaGeoFitter(pen).fit(
        rows["frequency"], rows["recency"], rows["T"], weights=rows["weights"]).params_, penalizers)
    return {k: float(v) for k, v in params.items()}, penalizer, attempts


def fit_gamma_gamma(rfm: pd.DataFrame, penalizers: Sequence[float] = DEFAULT_PENALIZERS
                    ) -> tuple[dict[str, float], float, list[FitAttempt]]:
    """Gamma-Gamma (p, q, v) on repeat buyers with spend > 0, grouped on (frequency, monetary_value)."""
    check_rfm(rfm)
    repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    if repeat.empty:
        raise ClvFitError("no repeat customer with spend > 0: Gamma-Gamma cannot be fitted", [])
    rows = _grouped(repeat, ["frequency", "monetary_value"])
    params, penalizer, attempts = _fit_ladder("gamma_gamma", lambda pen: GammaGammaFitter(pen).fit(
        rows["frequency"], rows["monetary_value"], weights=rows["weights"]).params_, penalizers)
    return {k: float(v) for k, v in params.items()}, penalizer, attempts


def fit_clv(rfm: pd.DataFrame, unit: TimeUnit, penalizers: Sequence[float] = DEFAULT_PENALIZERS) -> ClvModel:
    """Fit BG/NBD on all customers and Gamma-Gamma on repeat buyers with spend, both on grouped rows.

    Raises ClvFitError (with every attempt so far) when a sub-model fails at every penalizer or no customer
    has a repeat purchase with spend, and ValueError when the frame breaks the lifetimes conventions.
    """
    if unit not in MONTH_IN_UNITS:
        raise ValueError(f"unit must be 'D' or 'W', got {unit!r}")
    if not penalizers:
        raise ValueError("penalizers must name at least one penalizer")
    check_rfm(rfm)
    bg, bg_pen, bg_attempts = fit_bgnbd(rfm, penalizers)
    try:
        gg, gg_pen, gg_attempts = fit_gamma_gamma(rfm, penalizers)
    except ClvFitError as error:
        raise ClvFitError(str(error), bg_attempts + list(error.attempts)) from error
    return ClvModel(unit=unit, **bg, **gg, bgnbd_penalizer=bg_pen, gamma_gamma_penalizer=gg_pen,
                    attempts=tuple(bg_attempts + gg_attempts))
