"""Fitting the CLV model (`models.clv.ClvModel`): BG/NBD for how often customers buy, Gamma-Gamma for how
much, with `lifetimes`.

Input is an RFM frame in the lifetimes conventions (frequency = repeat purchase periods, recency = age at the
last purchase period, T = age at the cutoff, monetary_value = mean spend per repeat period) with its time unit
stated explicitly, because every prediction of the fitted model is in that unit. The likelihoods only
depend on the distinct (frequency, recency, T) rows, so the fits run on grouped rows with `weights`: same
parameters, a fraction of the time. A fit that does not converge is retried up a penalizer ladder, and every
attempt is kept for the tracking module to log.
Nothing here touches files, MLflow, the clock or global random state.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from features.rfm import RFM_COLUMNS
from models.btyd import PARAM_NAMES, PurchaseModel, fitter_class
from models.clv import MONTH_IN_UNITS, PURCHASE_COLUMNS, ClvModel, FitAttempt, TimeUnit
from retain.errors import RetainError

with warnings.catch_warnings():  # lifetimes 0.11.3 emits a Pandas4Warning on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

DEFAULT_PENALIZERS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
PARETO_FIT_CUSTOMERS = 5_000
"""Pareto/NBD is fitted on a fixed sample of this many customers: lifetimes fits it by Nelder-Mead without
gradients, ~3 ms per distinct (frequency, recency, T) row (26 s on 17,500 customers in days), where BG/NBD
takes 1.4 s; its four parameters are well determined by a few thousand customers."""
PARETO_START = (1.0, 1.0, 1.0, 1.0)
"""Where Pareto/NBD's search starts (log-parameters): lifetimes otherwise draws the start from numpy's global
random state, so two fits of the same data differed (from the 6th digit) and so did every model built on top."""


class ClvFitError(RetainError):
    """No rung of the penalizer ladder gave usable parameters; `attempts` says what each one did."""

    def __init__(self, message: str, attempts: Sequence[FitAttempt]) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


def check_rfm(rfm: pd.DataFrame, with_spend: bool = True) -> None:
    """Refuse an RFM frame that breaks the lifetimes conventions, naming the rule, before any fit."""
    columns = list(RFM_COLUMNS if with_spend else PURCHASE_COLUMNS)
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


def _fit_ladder(model: Literal["bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"], fit: Callable[[float], pd.Series],
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
    """BG/NBD (r, alpha, a, b): `fit_purchase_model` of "bgnbd"."""
    return fit_purchase_model(rfm, "bgnbd", penalizers)


def fit_purchase_model(rfm: pd.DataFrame, kind: PurchaseModel, penalizers: Sequence[float] = DEFAULT_PENALIZERS
                       ) -> tuple[dict[str, float], float, list[FitAttempt]]:
    """The purchase model `kind` (parameters by `PARAM_NAMES[kind]`) on the distinct (frequency, recency, T)
    rows weighted by their counts, with
    the penalizer that worked and every attempt. Same optimum as the plain fit: lifetimes' likelihood is the
    weighted mean over rows.

    Customers first seen in the cutoff's own period (T = 0 in the model's unit, acquired "today") are left
    out of the fit: their likelihood is 1 whatever the parameters, so they carry no information, and they are
    scored by the population prior (the conditional formulas at T = 0 reduce to it)."""
    check_rfm(rfm, with_spend=False)
    observed = rfm[rfm["T"] > 0]
    if observed.empty:
        raise ClvFitError("every customer was first seen in the cutoff's own period (T = 0): nothing to fit "
                          f"{kind} on; use a later cutoff", [])
    if kind == "pareto_nbd" and len(observed) > PARETO_FIT_CUSTOMERS:
        observed = observed.sample(PARETO_FIT_CUSTOMERS, random_state=0)
    rows = _grouped(observed, list(PURCHASE_COLUMNS))
    fitter = BetaGeoFitter if kind == "bgnbd" else fitter_class(kind)  # the name looked up here, so tests can swap it
    start = {"initial_params": np.asarray(PARETO_START)} if kind == "pareto_nbd" else {}
    params, penalizer, attempts = _fit_ladder(kind, lambda pen: fitter(pen).fit(
        rows["frequency"], rows["recency"], rows["T"], weights=rows["weights"], **start
    ).params_[list(PARAM_NAMES[kind])], penalizers)
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


def fit_clv(rfm: pd.DataFrame, unit: TimeUnit, penalizers: Sequence[float] = DEFAULT_PENALIZERS,
            kind: PurchaseModel = "bgnbd") -> ClvModel:
    """Fit the purchase model `kind` (BG/NBD by default) on all customers and Gamma-Gamma on repeat buyers with
    spend, both on grouped rows.

    Raises ClvFitError (with every attempt so far) when a sub-model fails at every penalizer or no customer
    has a repeat purchase with spend, and ValueError when the frame breaks the lifetimes conventions.
    """
    if unit not in MONTH_IN_UNITS:
        raise ValueError(f"unit must be 'D' or 'W', got {unit!r}")
    if not penalizers:
        raise ValueError("penalizers must name at least one penalizer")
    check_rfm(rfm)
    bg, bg_pen, bg_attempts = fit_purchase_model(rfm, kind, penalizers)
    try:
        gg, gg_pen, gg_attempts = fit_gamma_gamma(rfm, penalizers)
    except ClvFitError as error:
        raise ClvFitError(str(error), bg_attempts + list(error.attempts)) from error
    r, alpha, a, b = (bg[name] for name in PARAM_NAMES[kind])
    return ClvModel(unit=unit, r=r, alpha=alpha, a=a, b=b, p=gg["p"], q=gg["q"], v=gg["v"],
                    bgnbd_penalizer=bg_pen, gamma_gamma_penalizer=gg_pen,
                    attempts=tuple(bg_attempts + gg_attempts), purchase_model=kind)


def lifetimes_fitters(model: ClvModel) -> tuple[BetaGeoFitter, GammaGammaFitter]:
    """lifetimes' fitters carrying the model's parameters: what its plots and utilities (and the tests that
    hold our formulas equal to lifetimes) take."""
    bgf = BetaGeoFitter(model.bgnbd_penalizer)
    bgf.params_ = pd.Series({"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b})
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
    ggf = GammaGammaFitter(model.gamma_gamma_penalizer)
    ggf.params_ = pd.Series({"p": model.p, "q": model.q, "v": model.v})
    return bgf, ggf
