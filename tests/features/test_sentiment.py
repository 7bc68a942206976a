"""Sentiment family: VADER scoring of interaction text, its cache, and the per-customer features.

Feature expectations are hand-computed on a tiny log (see EXPECTED); a hypothesis property compares random
logs with a plain pandas reference and checks that events after the cutoff change nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import hypothesis.strategies as st
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from features import sentiment_cache
from features.cutoff import Cutoff
from features.sentiment import NEGATIVE_AT, catalogue, score_texts, sentiment_features
from features.sentiment_cache import (
    MISSING_TEXT_HASH,
    SentimentStats,
    cache_path,
    load_cache,
    score_interactions,
    text_hash,
)
from retain.simulate import SampleData
from tests.features.conftest import run

NAN = math.nan
AS_OF = dt.date(2024, 6, 30)
CUTOFF = Cutoff(AS_OF)
END = CUTOFF.end  # 2024-07-01 00:00, the first moment not known at the cutoff
TICK = dt.timedelta(microseconds=1)  # the timestamps' resolution
WINDOWS = (30, 90, 365)
HAPPY = "Hi, thanks so much for the quick help. All sorted now, brilliant!"
ANGRY = "This is absolutely ridiculous! Worst service I have ever had. I am leaving for a competitor."


def ago(days: float) -> dt.datetime:
    """`days` days before the end of the cutoff day (the start of a `days`-day window)."""
    return END - dt.timedelta(days=days)


def scored_log(rows: Sequence[tuple[str, str, dt.datetime, float | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "interaction_id", "opened_at", "sentiment"])
    return frame.astype({"opened_at": "datetime64[us]", "sentiment": "float64"})


def features(log: pd.DataFrame, cutoff: Cutoff = CUTOFF, windows: Sequence[int] = WINDOWS) -> pd.DataFrame:
    return run(sentiment_features(ibis.memtable(log), cutoff, windows))


# A: a1 at the last moment of the cutoff day (counts), a3 a moment before the 30 days up to the end of that day
#    (outside the 30-day window, inside the trend's base period 30..120 days), a4 without text, a7 after the
#    cutoff (must not count).
# B: only a contact at the midnight after the cutoff day: absent.
# C: one contact, no text: present, every feature missing.
# D: two contacts at the same moment: the tie goes to the higher interaction_id (I8).
LOG = scored_log([
    ("A", "a1", END - TICK, 0.4), ("A", "a2", ago(20), -0.6), ("A", "a3", ago(30) - TICK, -0.2),
    ("A", "a4", ago(60), None), ("A", "a5", ago(100), 0.2), ("A", "a6", ago(200), -0.1),
    ("A", "a7", ago(-5), 0.9),
    ("B", "b1", END, 0.5),
    ("C", "c1", ago(10), None),
    ("D", "I7", ago(1), 0.3), ("D", "I8", ago(1), -0.3),
])
EXPECTED = {
    # 30d: a1, a2; 90d: + a3 (a4 has no score); 365d: + a5, a6. Trend: mean(a1, a2) - mean(a3, a5).
    "A": {"sentiment_mean_30d": -0.1, "sentiment_mean_90d": -0.4 / 3, "sentiment_mean_365d": -0.3 / 5,
          "sentiment_min_30d": -0.6, "sentiment_min_90d": -0.6, "sentiment_min_365d": -0.6,
          "negative_share_30d": 1 / 2, "negative_share_90d": 2 / 3, "negative_share_365d": 3 / 5,
          "sentiment_last": 0.4, "sentiment_trend": -0.1 - 0.0},
    "C": dict.fromkeys([f.name for f in catalogue(WINDOWS)], NAN),
    # nothing 30..120 days back: no trend
    "D": {"sentiment_mean_30d": 0.0, "sentiment_mean_90d": 0.0, "sentiment_mean_365d": 0.0,
          "sentiment_min_30d": -0.3, "sentiment_min_90d": -0.3, "sentiment_min_365d": -0.3,
          "negative_share_30d": 0.5, "negative_share_90d": 0.5, "negative_share_365d": 0.5,
          "sentiment_last": -0.3, "sentiment_trend": NAN},
}


# --- scoring ------------------------------------------------------------------------------------------------

def test_positive_text_scores_positive_and_angry_text_negative() -> None:
    scores = score_texts(pd.Series([HAPPY, ANGRY])).scores
    assert scores[0] > 0.05
    assert scores[1] < -0.05


def test_missing_or_blank_text_is_nan_not_zero() -> None:
    texts = pd.Series([None, "", "   \n", "Regards.", pd.NA], dtype="string")
    scores = score_texts(texts).scores
    assert np.isnan(scores[[0, 1, 2, 4]]).all()
    assert scores[3] == 0.0  # a neutral text is a real 0


def test_identical_texts_are_scored_once() -> None:
    result = score_texts(pd.Series([HAPPY, ANGRY, HAPPY, None, HAPPY], dtype=object))
    assert result.distinct == 2
    assert result.scores[0] == result.scores[2] == result.scores[4]


def test_the_process_pool_gives_the_same_scores_and_reports_progress() -> None:
    texts = pd.Series([f"{HAPPY} order {i}" if i % 3 else f"{ANGRY} case {i}" for i in range(3_000)])
    seen: list[tuple[int, int]] = []
    pooled = score_texts(texts, workers=2, min_parallel=0,
                         progress=lambda done, total: seen.append((done, total)))
    alone = score_texts(texts, workers=1)
    np.testing.assert_array_equal(pooled.scores, alone.scores)
    assert seen[0] == (0, 3_000) and seen[-1] == (3_000, 3_000)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# --- features -----------------------------------------------------------------------------------------------

def test_features_match_hand_computed_values() -> None:
    out = features(LOG)
    assert list(out.index) == ["A", "C", "D"]  # B's only contact is after the cutoff
    expected = pd.DataFrame.from_dict(EXPECTED, orient="index")[out.columns]
    pd.testing.assert_frame_equal(out, expected, check_names=False, check_dtype=False, atol=1e-12, rtol=0)


def test_columns_are_the_catalogue() -> None:
    table = sentiment_features(ibis.memtable(LOG), CUTOFF, (7, 30))
    names = [f.name for f in catalogue((7, 30))]
    assert table.columns == ("customer_id", *names)
    assert {f.family for f in catalogue(WINDOWS)} == {"sentiment"}
    kinds = {f.name: f.kind for f in catalogue(WINDOWS)}
    assert kinds["negative_share_30d"] == "rate" and kinds["sentiment_last"] == "score"


def test_the_whole_cutoff_day_is_known_and_windows_count_back_from_its_end() -> None:
    log = scored_log([
        ("A", "x1", dt.datetime(2024, 6, 30, 23, 59, 59, 999_999), -0.5),  # known: the cutoff day's last moment
        ("A", "x2", dt.datetime(2024, 7, 1), 0.9),                # next midnight: unknown
        ("A", "x3", dt.datetime(2024, 6, 1), 0.5),                # exactly 30 days before the end: inside
        ("A", "x4", dt.datetime(2024, 5, 31, 23, 59, 59, 999_999), 0.1),  # a moment earlier: outside
    ])
    out = features(log, Cutoff(dt.date(2024, 6, 30)), (30,))
    assert out.loc["A", "sentiment_mean_30d"] == pytest.approx(0.0)
    assert out.loc["A", "sentiment_min_30d"] == -0.5 and out.loc["A", "negative_share_30d"] == 0.5
    assert out.loc["A", "sentiment_last"] == -0.5
    # a day earlier x1 is not known yet, and the 30 days (from 05-31 00:00) hold x4 as well as x3
    earlier = features(log, Cutoff(dt.date(2024, 6, 29)), (30,))
    assert earlier.loc["A", "sentiment_mean_30d"] == pytest.approx(0.3)
    assert earlier.loc["A", "sentiment_last"] == 0.5


def test_trend_periods_are_whole_days_back_from_the_end_of_the_cutoff_day() -> None:
    """Recent: the 30 days up to the end of the cutoff day; base: the 90 days before those."""
    log = scored_log([
        ("A", "r", ago(30), 0.8),           # the first moment of the recent 30 days
        ("A", "b1", ago(30) - TICK, -0.2),  # the last moment of the base period
        ("A", "b2", ago(120), -0.4),        # the first moment of the base period
        ("A", "o", ago(120) - TICK, 0.9),   # a moment before it: in neither
    ])
    assert features(log, CUTOFF, (30,)).loc["A", "sentiment_trend"] == pytest.approx(0.8 - (-0.3))
    assert math.isnan(features(log.iloc[1:], CUTOFF, (30,)).loc["A", "sentiment_trend"])  # no recent side
    assert math.isnan(features(log.iloc[[0, 3]], CUTOFF, (30,)).loc["A", "sentiment_trend"])  # no base side


def test_shuffling_rows_changes_nothing() -> None:
    shuffled = LOG.sample(frac=1, random_state=np.random.default_rng(3)).reset_index(drop=True)
    pd.testing.assert_frame_equal(features(shuffled), features(LOG))


def test_nan_scores_count_as_missing() -> None:
    arrow = pa.Table.from_pandas(LOG, preserve_index=False).set_column(
        3, "sentiment", pa.array(LOG["sentiment"].to_numpy(), from_pandas=False))  # keep NaN as NaN
    assert pa.compute.is_nan(arrow["sentiment"]).to_numpy().any()
    with_nan = run(sentiment_features(ibis.memtable(arrow), CUTOFF, WINDOWS))
    pd.testing.assert_frame_equal(with_nan, features(LOG))


@pytest.mark.parametrize("windows", [(), (0,), (30, 30), (-7,), (1.5,)])
def test_windows_must_be_distinct_positive_days(windows: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="windows"):
        sentiment_features(ibis.memtable(LOG), CUTOFF, windows)


def reference(log: pd.DataFrame, day: dt.date, windows: Sequence[int]) -> pd.DataFrame:
    """The features computed the slow, obvious way, customer by customer: known is opened before the midnight
    after `day`, and a window (newest, oldest) is [that midnight - oldest days, that midnight - newest days)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    rows: dict[str, dict[str, float]] = {}
    for customer, events in log[log["opened_at"] < end].groupby("customer_id"):
        def scores(newest: int, oldest: int, events: pd.DataFrame = events) -> pd.Series:
            inside = ((events["opened_at"] >= end - dt.timedelta(days=oldest))
                      & (events["opened_at"] < end - dt.timedelta(days=newest)))
            return events.loc[inside, "sentiment"].dropna()

        row: dict[str, float] = {}
        for w in windows:
            s = scores(0, w)
            row[f"sentiment_mean_{w}d"] = s.mean() if len(s) else NAN
            row[f"sentiment_min_{w}d"] = s.min() if len(s) else NAN
            row[f"negative_share_{w}d"] = (s <= NEGATIVE_AT).mean() if len(s) else NAN
        with_text = events.dropna(subset=["sentiment"]).sort_values(["opened_at", "interaction_id"])
        row["sentiment_last"] = with_text["sentiment"].iloc[-1] if len(with_text) else NAN
        recent, base = scores(0, 30), scores(30, 120)
        row["sentiment_trend"] = recent.mean() - base.mean() if len(recent) and len(base) else NAN
        rows[str(customer)] = row
    columns = [f.name for f in catalogue(windows)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype("float64")


days = st.one_of(st.integers(-400, 10), st.sampled_from((-120, -90, -30, 0)))  # often a window's edge
moments = st.one_of(
    days.map(lambda d: END + dt.timedelta(days=d)),  # midnights: where windows start and end
    days.map(lambda d: END + dt.timedelta(days=d) - TICK),  # the moment before one
    st.integers(-400 * 86_400, 10 * 86_400).map(lambda s: END + dt.timedelta(seconds=s)),
)
past_events = st.lists(st.tuples(st.sampled_from("ABCD"), moments,
                            st.one_of(st.none(), st.floats(-1, 1, allow_nan=False))), max_size=30)
later_events = st.lists(st.tuples(st.sampled_from("ABCDE"), st.integers(0, 50 * 86_400),  # from END on
                            st.one_of(st.none(), st.floats(-1, 1, allow_nan=False))), max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(past=past_events, later=later_events)
def test_random_logs_match_the_reference_and_later_events_change_nothing(past: list, later: list) -> None:
    rows = [(c, f"I{i}", at, s) for i, (c, at, s) in enumerate(past)]
    log = scored_log(rows)
    out = features(log, CUTOFF, (30, 90))
    assert_same(out, reference(log, AS_OF, (30, 90)), rtol=1e-9)
    extra = [(c, f"L{i}", END + dt.timedelta(seconds=s), v) for i, (c, s, v) in enumerate(later)]
    assert_same(features(scored_log(rows + extra), CUTOFF, (30, 90)), out, rtol=0)


def assert_same(left: pd.DataFrame, right: pd.DataFrame, rtol: float) -> None:
    """Same customers, columns and values (NaN equal to NaN); index dtypes of empty frames may differ."""
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
    np.testing.assert_allclose(left.to_numpy(dtype="float64"), right.to_numpy(dtype="float64"), rtol=rtol,
                               atol=1e-12 if rtol else 0)


# --- the cache ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def log(small_sample: SampleData) -> pd.DataFrame:
    """The simulated contacts, oldest first, so that 'new' ones are the latest."""
    frame = small_sample.interactions[["interaction_id", "customer_id", "opened_at", "text"]]
    return frame.sort_values(["opened_at", "interaction_id"], ignore_index=True)


def split_new(log: pd.DataFrame, share: float = 0.01) -> tuple[pd.DataFrame, int]:
    new = max(1, round(len(log) * share))
    return log.iloc[: len(log) - new], new


def test_cold_run_scores_everything_and_writes_the_cache(log: pd.DataFrame, tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    scores, stats = score_interactions(log, path)
    assert stats.scored_now == len(log) and stats.from_cache == 0
    assert stats.missing_text == log["text"].isna().sum() > 0
    assert list(scores["interaction_id"]) == list(log["interaction_id"])
    assert scores["sentiment"].dtype == "float64"
    assert np.isnan(scores["sentiment"][log["text"].isna()]).all()
    stored = pd.read_parquet(path)
    assert list(stored.columns) == ["interaction_id", "text_hash", "sentiment"]
    assert len(stored) == len(log)


def test_a_rerun_scores_only_new_interactions_and_matches_a_cold_run(log: pd.DataFrame,
                                                                     tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    first, new = split_new(log)
    score_interactions(first, path)
    warm, stats = score_interactions(log, path)
    cold, _ = score_interactions(log, None)
    assert stats == SentimentStats(scored_now=new, from_cache=len(first), distinct_texts=stats.distinct_texts,
                                   missing_text=int(log["text"].isna().sum()))
    pd.testing.assert_frame_equal(warm, cold)
    _, again = score_interactions(log.sample(frac=1, random_state=1), path)
    assert again.scored_now == 0 and again.from_cache == len(log)


def test_an_edited_text_is_rescored(log: pd.DataFrame, tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    score_interactions(log, path)
    edited = log.copy()
    row = edited.index[edited["text"].notna()][0]
    edited.loc[row, "text"] = ANGRY
    scores, stats = score_interactions(edited, path)
    assert stats.scored_now == 1 and stats.from_cache == len(log) - 1
    assert scores.loc[row, "sentiment"] < -0.05
    _, again = score_interactions(edited, path)
    assert again.scored_now == 0


def test_a_run_on_a_subset_keeps_the_other_scores(log: pd.DataFrame, tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    score_interactions(log, path)
    part = log.iloc[::2].copy()
    part.loc[part.index[0], "text"] = HAPPY + " edited"  # forces a rewrite of the cache
    score_interactions(part, path)
    _, stats = score_interactions(log, path)
    assert stats.scored_now == 1  # only the row whose text differs from the last run


def test_no_cache_path_means_no_files(log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("touched the disk")

    monkeypatch.setattr(sentiment_cache, "write_table", refuse)
    monkeypatch.setattr(sentiment_cache, "load_cache", refuse)
    _, stats = score_interactions(log.head(50), None)
    assert stats.scored_now == 50


def test_an_unchanged_rerun_does_not_rewrite_the_cache(log: pd.DataFrame, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = cache_path(tmp_path)
    score_interactions(log, path)
    monkeypatch.setattr(sentiment_cache, "write_table", lambda *args: pytest.fail("rewrote the cache"))
    score_interactions(log, path)


def test_a_failed_write_leaves_the_old_cache_whole(log: pd.DataFrame, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = cache_path(tmp_path)
    first, new = split_new(log, 0.1)
    score_interactions(first, path)
    before = path.read_bytes()

    def crash_midway(frame: pd.DataFrame, target: Path, **kwargs: object) -> None:
        Path(target).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash_midway)
    scores, stats = score_interactions(log, path)
    assert stats.scored_now == new and scores["sentiment"].notna().sum() > 0  # the run itself succeeds
    assert "could not write sentiment cache" in caplog.text
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_a_damaged_or_foreign_cache_is_ignored(log: pd.DataFrame, tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet at all")
    assert load_cache(path).empty
    _, stats = score_interactions(log, path)
    assert stats.scored_now == len(log)
    pd.DataFrame({"interaction_id": ["x"], "text_hash": np.array([1], dtype="uint64"),
                  "sentiment": [0.5]}).to_parquet(path)  # no scorer stamp: another tool's file
    assert load_cache(path).empty


@pytest.mark.parametrize("texts", [
    pd.Series(["ok", None, ""], dtype="str"),  # Arrow strings read into pandas 3 (the embedded path): NaN
    pd.Series(["ok", None, ""], dtype="string"),  # pd.NA
    pd.Series(["ok", None, ""], dtype=object),
    pd.Series(["ok", math.nan, ""], dtype=object),
    pd.Series(["ok", pd.NA, ""], dtype=object),
    pd.Series(["ok", None, ""], dtype=pd.ArrowDtype(pa.large_string())),
], ids=["str", "string", "object-None", "object-NaN", "object-NA", "arrow"])
def test_a_text_hashes_alike_in_every_container(texts: pd.Series) -> None:
    """The cache key must not depend on how an engine's reader hands the texts to pandas: a missing text
    hashed as NaN on one path and as pd.NA on the other made DuckDB re-score every missing text Spark cached."""
    assert text_hash(texts).tolist() == text_hash(pd.Series(["ok", None, ""], dtype="string")).tolist()
    assert text_hash(texts)[1] == MISSING_TEXT_HASH != text_hash(texts)[2]  # missing is not the empty text


def test_the_missing_text_hash_is_pandas_hash_of_a_missing_string() -> None:
    """What caches already written hold; a pandas release that hashes pd.NA otherwise shows up here."""
    from pandas.util import hash_pandas_object

    missing = pd.Series([pd.NA], dtype="string")
    assert hash_pandas_object(missing, index=False, categorize=False).iloc[0] == MISSING_TEXT_HASH


def test_a_cache_keyed_from_one_container_is_reused_from_another(log: pd.DataFrame, tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    score_interactions(log.astype({"text": "string"}), path)  # as Spark's executors see the texts
    _, stats = score_interactions(log.astype({"text": "str"}), path)  # as the embedded path reads them
    assert log["text"].isna().sum() > 0
    assert stats.scored_now == 0 and stats.from_cache == len(log)


def test_no_interactions_or_no_text_column(tmp_path: Path) -> None:
    empty = pd.DataFrame({"interaction_id": pd.Series(dtype="str"), "text": pd.Series(dtype="str")})
    scores, stats = score_interactions(empty, cache_path(tmp_path))
    assert scores.empty and stats == SentimentStats(0, 0, 0, 0)
    scores, stats = score_interactions(pd.DataFrame({"interaction_id": ["a", "b"]}), None)
    assert scores["sentiment"].isna().all() and stats.missing_text == 2
