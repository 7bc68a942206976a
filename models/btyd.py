"""The buy-till-you-die purchase models `retain` chooses among: BG/NBD, MBG/NBD and Pareto/NBD.

BG/NBD is written out in numpy in `models.clv` (the default, and what every earlier model was). MBG/NBD and
Pareto/NBD are computed with lifetimes' own vectorised formulas on fitters that carry stored parameters, so
scoring needs no fit, only numpy and scipy through lifetimes. Parameters are kept positionally in the
`ClvModel` fields r, alpha, a, b; `PARAM_NAMES` says what each one is called in each model.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

PurchaseModel = Literal["bgnbd", "mbgnbd", "pareto_nbd"]
PURCHASE_MODELS: tuple[PurchaseModel, ...] = ("bgnbd", "mbgnbd", "pareto_nbd")
PARAM_NAMES: dict[str, tuple[str, str, str, str]] = {
    "bgnbd": ("r", "alpha", "a", "b"), "mbgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": ("r", "alpha", "s", "beta"),
}
FITTER_NAMES = {"bgnbd": "BetaGeoFitter", "mbgnbd": "ModifiedBetaGeoFitter", "pareto_nbd": "ParetoNBDFitter"}


def fitter_class(kind: PurchaseModel) -> Any:
    """lifetimes' fitter class of `kind`, imported on first use: a BG/NBD champion (numpy, `models.clv`) scores
    without loading lifetimes at all, so the API does not."""
    with warnings.catch_warnings():  # lifetimes 0.11.3 emits a Pandas4Warning on import
        warnings.simplefilter("ignore", DeprecationWarning)
        import lifetimes
    return getattr(lifetimes, FITTER_NAMES[kind])
LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}


def fitter(kind: PurchaseModel, params: tuple[float, float, float, float], penalizer: float = 0.0
           ) -> BetaGeoFitter | ModifiedBetaGeoFitter | ParetoNBDFitter:
    """A lifetimes fitter of `kind` carrying `params` (in `PARAM_NAMES[kind]` order), as its fit() leaves it."""
    import pandas as pd

    model = fitter_class(kind)(penalizer)
    model.params_ = pd.Series(dict(zip(PARAM_NAMES[kind], params, strict=True)))
    model.predict = model.conditional_expected_number_of_purchases_up_to_time
    return model


def expected_purchases(kind: PurchaseModel, params: tuple[float, float, float, float], horizon: np.ndarray,
                       f: np.ndarray, rec: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Expected repeat purchases in the next `horizon` units given (frequency, recency, T), lifetimes' formula."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = fitter(kind, params).conditional_expected_number_of_purchases_up_to_time(horizon, f, rec, t)
    return np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=0.0)


def p_alive(kind: PurchaseModel, params: tuple[float, float, float, float], f: np.ndarray, rec: np.ndarray,
            t: np.ndarray) -> np.ndarray:
    """P(still active at T), lifetimes' formula."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = fitter(kind, params).conditional_probability_alive(f, rec, t)
    return np.clip(np.nan_to_num(np.asarray(values, dtype=float), nan=1.0), 0.0, 1.0)
