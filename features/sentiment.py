"""Sentiment of service-interaction text: a VADER compound score per interaction, and point-in-time
per-customer sentiment features over those scores as an ibis expression.

Everything here is pure computation: no files, no clock. The cache that lets a re-run score only new
interactions lives in `features.sentiment_cache`, the one module of this family that does I/O.

VADER (vaderSentiment) ships its lexicon and runs offline. Its compound score lies in [-1, 1]; the
convention of its authors is compound >= 0.05 positive, <= -0.05 negative, in between neutral. A missing or
blank text has no sentiment at all, so it scores NaN rather than a neutral 0: "said nothing" is not "said
something neutral".
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from features import wording
from features.aggregates import exact_mean
from features.catalogue import Family, Feature, Wording, windowed
from features.cutoff import Cutoff

__all__ = [
    "NEGATIVE_AT",
    "POSITIVE_AT",
    "TextScores",
    "catalogue",
    "score_texts",
    "sentiment_features",
]

NEGATIVE_AT = -0.05
"""Compound score at or below which a text counts as negative (VADER's own threshold)."""
POSITIVE_AT = 0.05
"""Compound score at or above which a text counts as positive (VADER's own threshold)."""
MIN_PARALLEL = 20_000
"""Below this many distinct texts a process pool costs more to start (~1 s: workers import pandas and
ibis) than it saves (VADER does ~40 us per short text)."""
TREND_RECENT_DAYS = 30
TREND_BASE_DAYS = 90
FAMILY: Family = "sentiment"

Progress = Callable[[int, int], None]

_analyzer: SentimentIntensityAnalyzer | None = None


class TextScores(NamedTuple):
    """Compound score per input text (NaN for missing/blank) and how many distinct texts VADER scored."""

    scores: np.ndarray
    distinct: int


def _compound(texts: Sequence[object]) -> list[float]:
    """VADER compound score of each text; NaN for anything that is not a non-blank string.

    The analyzer is built once per process (lexicon load ~10 ms), so a worker reuses it for every chunk.
    """
    global _analyzer
    if _analyzer is None:
        _analyzer = SentimentIntensityAnalyzer()
    polarity = _analyzer.polarity_scores
    return [polarity(t)["compound"] if isinstance(t, str) and t and not t.isspace() else math.nan
            for t in texts]


def _chunk_bounds(n: int, workers: int) -> list[tuple[int, int]]:
    """Chunks small enough for steady progress and load balance, big enough that pickling is noise."""
    size = min(50_000, max(2_000, math.ceil(n / (max(workers, 1) * 8))))
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def _score_distinct(texts: list[object], workers: int, progress: Progress | None,
                    min_parallel: int) -> np.ndarray:
    """Score every text, in a pool of `workers` processes when there are enough texts to pay for it."""
    n = len(texts)
    scores = np.empty(n, dtype="float64")
    bounds = _chunk_bounds(n, workers)
    chunks = (texts[start:stop] for start, stop in bounds)
    if progress is not None:
        progress(0, n)
    if workers <= 1 or n < min_parallel:
        _collect(map(_compound, chunks), bounds, scores, progress)
        return scores
    # spawn, not fork: the parent may hold DuckDB/Arrow threads, and forking a threaded process can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        _collect(pool.map(_compound, chunks), bounds, scores, progress)
    return scores


def _collect(results: Iterable[list[float]], bounds: list[tuple[int, int]], scores: np.ndarray,
             progress: Progress | None) -> None:
    """Place each chunk's scores (results arrive in chunk order) and report progress."""
    total = len(scores)
    for (start, stop), chunk in zip(bounds, results, strict=True):
        scores[start:stop] = chunk
        if progress is not None:
            progress(stop, total)


def score_texts(texts: pd.Series, workers: int = 2, progress: Progress | None = None,
                min_parallel: int = MIN_PARALLEL) -> TextScores:
    """VADER compound score of each text, NaN where the text is missing or blank.

    Identical texts are scored once (templated replies and copy-pasted complaints repeat), so the work is
    the number of distinct texts. With `workers` > 1 and at least `min_parallel` distinct texts they are
    scored in chunks by a process pool; `progress(done, total)` counts distinct texts.
    """
    codes, uniques = pd.factorize(pd.Series(texts, copy=False), use_na_sentinel=True)
    distinct = _score_distinct(list(uniques), workers, progress, min_parallel)
    # code -1 (missing) picks the NaN appended at the end
    return TextScores(np.append(distinct, np.nan)[codes], len(distinct))


def catalogue(windows: Sequence[int]) -> list[Feature]:
    """The sentiment features `sentiment_features(..., windows)` returns, in its column order.

    Worse tone may only raise churn (monotone constraints: -1 on the compound scores and the trend, +1 on the
    negative share). Only the latest text's tone is actionable: service recovery after a bad contact can
    change how the customer's last message reads, not the tone of the ones before."""
    compound: dict[str, Any] = {"unit": "VADER compound -1..1", "low": -1, "high": 1, "direction": -1}
    return [
        *windowed(FAMILY, "score", "sentiment_mean",
                  "Mean VADER compound score (-1..1) of the customer's texts opened in the last {w} days.",
                  windows, **compound, reason=Wording(render=wording.sentiment_mean, missing=wording.NO_MESSAGE)),
        *windowed(FAMILY, "score", "sentiment_min",
                  "Most negative VADER compound score among the customer's texts of the last {w} days.",
                  windows, **compound, reason=Wording(render=wording.sentiment_min, missing=wording.NO_MESSAGE)),
        *windowed(FAMILY, "rate", "negative_share",
                  "Share of the customer's scored texts of the last {w} days that are negative "
                  f"(compound <= {NEGATIVE_AT}).",
                  windows, unit="share", low=0, high=1, direction=1,
                  reason=Wording(render=wording.negative_share, missing=wording.NO_MESSAGE)),
        Feature(name="sentiment_last", family=FAMILY, kind="score", **compound, actionable=True,
                definition="VADER compound score of the customer's most recent text (ties: highest "
                           "interaction_id).",
                reason=Wording(render=wording.sentiment_last, missing=wording.NO_MESSAGE)),
        Feature(name="sentiment_trend", family=FAMILY, kind="score", unit="VADER compound difference",
                low=-2, high=2, direction=-1,
                definition=f"Mean score of the last {TREND_RECENT_DAYS} days minus mean of the "
                           f"{TREND_BASE_DAYS} days before; negative means the customer's tone is souring.",
                reason=Wording(render=wording.sentiment_trend,
                               missing="too few messages to see a trend in tone")),
    ]


def _aggregates(past: ir.Table, cutoff: Cutoff, windows: Sequence[int]) -> dict[str, ir.Value]:
    """Windowed means, minima and negative shares, and the trend, as aggregates over `past`."""
    score = past.sentiment
    # a boolean cast, not ifelse(..., 1.0, 0.0): float literals are DECIMAL on Spark, their mean rounded
    negative = (score <= NEGATIVE_AT).cast("float64")  # null for a null score: masked below too
    scored = score.notnull()
    columns: dict[str, ir.Value] = {}
    for w in windows:
        inside = cutoff.between(past.opened_at, 0, w)
        columns[f"sentiment_mean_{w}d"] = exact_mean(score, inside)
        columns[f"sentiment_min_{w}d"] = score.min(where=inside)
        columns[f"negative_share_{w}d"] = negative.mean(where=inside & scored)
    recent = exact_mean(score, cutoff.between(past.opened_at, 0, TREND_RECENT_DAYS))
    base = exact_mean(score, cutoff.between(past.opened_at, TREND_RECENT_DAYS,
                                           TREND_RECENT_DAYS + TREND_BASE_DAYS))
    columns["sentiment_trend"] = recent - base  # null when either side is
    return columns


def _last_scored(past: ir.Table) -> ir.Table:
    """Per customer, the score of the latest scored interaction (row_number runs on DuckDB and Spark alike,
    unlike first(order_by=))."""
    scored = past.filter(past.sentiment.notnull())
    rank = ibis.row_number().over(group_by=scored.customer_id,
                                  order_by=[scored.opened_at.desc(), scored.interaction_id.desc()])
    latest = scored.mutate(latest_rank=rank)
    latest = latest.filter(latest.latest_rank == 0)
    return latest.select("customer_id", sentiment_last=latest.sentiment)


def sentiment_features(scored: ir.Table, cutoff: Cutoff, windows: Sequence[int]) -> ir.Table:
    """Per-customer sentiment features at `cutoff`, from interactions with a `sentiment` score.

    `scored` needs customer_id, interaction_id, opened_at (timestamp, naive UTC) and sentiment (float64,
    null or NaN where there was no text). Only interactions known at the cutoff (opened by the end of its day)
    count, so the same function builds training sets (past cutoffs) and scoring sets (today) without leakage;
    a w-day window is the w days up to the end of the cutoff day, as in the other families. One row per
    customer with at least one known interaction; a customer whose contacts carried no text gets nulls, not
    zeros.
    """
    windows = list(windows)
    if not windows or any(int(w) != w or w <= 0 for w in windows) or len(set(windows)) != len(windows):
        raise ValueError(f"windows must be distinct positive whole days, got {windows}")
    sentiment = scored.sentiment.cast("float64")
    clean = scored.mutate(sentiment=ibis.ifelse(sentiment.isnan(), ibis.null("float64"), sentiment))
    past = clean.filter(cutoff.known(clean.opened_at))
    per_customer = past.group_by("customer_id").aggregate(**_aggregates(past, cutoff, windows))
    joined = per_customer.left_join(_last_scored(past), "customer_id")
    return joined.select("customer_id", *[feature.name for feature in catalogue(windows)])
