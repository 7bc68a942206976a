"""The reference model: best achievable and clairvoyant churn scores on simulated data, and the labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retain.ingest import load
from retain.reference import (
    best_achievable_churn_probability,
    clairvoyant_churn_probability,
)
from retain.sample import read_truth, write_sample
from retain.simulate import SampleData
from training.labels import churn_labels

AS_OF = pd.Timestamp("2025-06-01")
HORIZON = 90


@pytest.fixture(scope="module")
def scored(reference_sample: SampleData) -> pd.DataFrame:
    """best achievable, clairvoyant and the observed label per customer who had bought by the cutoff."""
    s = reference_sample
    best = best_achievable_churn_probability(s.truth, s.transactions, s.interactions, AS_OF, HORIZON)
    clairvoyant = clairvoyant_churn_probability(s.truth, AS_OF, HORIZON)
    labels = churn_labels(s.customers, s.transactions, AS_OF, HORIZON)
    return pd.DataFrame({"best": best, "clairvoyant": clairvoyant.loc[best.index],
                         "churned": labels.loc[best.index]})


def test_best_achievable_is_a_probability(scored: pd.DataFrame, reference_sample: SampleData) -> None:
    bought = reference_sample.transactions["timestamp"] < AS_OF + pd.Timedelta(days=1)
    assert len(scored) == reference_sample.transactions.loc[bought, "customer_id"].nunique()  # one per buyer
    assert scored["best"].notna().all()
    assert scored["best"].between(0.0, 1.0).all()
    assert scored["best"].std() > 0.1  # it does tell customers apart


def test_best_achievable_is_calibrated(scored: pd.DataFrame) -> None:
    observed = scored["churned"].mean()

    assert 0.2 < observed < 0.98  # both classes are there
    assert abs(scored["best"].mean() - observed) <= 0.05


def test_best_achievable_ranks_well_but_not_better_than_clairvoyant(scored: pd.DataFrame) -> None:
    best_auc = roc_auc_score(scored["churned"], scored["best"])
    clairvoyant_auc = roc_auc_score(scored["churned"], scored["clairvoyant"])

    assert best_auc >= 0.8
    assert best_auc <= clairvoyant_auc + 0.01


def test_one_purchase_customer_without_a_case_is_surely_alive(reference_sample: SampleData,
                                                              scored: pd.DataFrame) -> None:
    s = reference_sample
    end = AS_OF + pd.Timedelta(days=1)  # the cutoff day counts in full
    bought = s.transactions[s.transactions["timestamp"] < end].groupby("customer_id").size()
    had_case = set(s.interactions.loc[s.interactions["opened_at"] < end, "customer_id"])
    single = pd.Index([c for c in bought[bought == 1].index if c not in had_case])
    assert len(single) > 0
    rate = s.truth.set_index("customer_id").loc[single, "purchase_rate"]

    # Nothing could have made them leave, so P(alive) = 1 and P(no purchase in H days) = exp(-lambda * H).
    np.testing.assert_allclose(scored.loc[single, "best"], np.exp(-rate * HORIZON), rtol=1e-9, atol=1e-15)
    customer = single[0]
    assert scored.loc[customer, "best"] == pytest.approx(np.exp(-rate[customer] * HORIZON))


def test_repeat_buyers_may_be_dead(reference_sample: SampleData, scored: pd.DataFrame) -> None:
    s = reference_sample
    bought = s.transactions[s.transactions["timestamp"] < AS_OF].groupby("customer_id").size()
    repeat = bought[bought > 1].index
    rate = s.truth.set_index("customer_id").loc[repeat, "purchase_rate"]

    assert (scored.loc[repeat, "best"] >= np.exp(-rate * HORIZON) - 1e-12).all()
    assert (scored.loc[repeat, "best"] > np.exp(-rate * HORIZON) + 1e-6).mean() > 0.9


def test_longer_silence_means_higher_churn_score(reference_sample: SampleData) -> None:
    s = reference_sample
    later = AS_OF + pd.Timedelta(days=60)
    recent = s.transactions["timestamp"].between(AS_OF - pd.Timedelta(days=2), later + pd.Timedelta(days=1))
    quiet = set(s.customers["customer_id"]) - set(s.transactions.loc[recent, "customer_id"])
    repeat = s.transactions.groupby("customer_id").size()
    bought_by_then = set(s.transactions.loc[s.transactions["timestamp"] < AS_OF, "customer_id"])
    quiet_repeat = sorted(c for c in quiet & bought_by_then if repeat[c] > 1)[:300]
    interactions = s.interactions.iloc[0:0]  # no service pressure: only the silence changes

    now = best_achievable_churn_probability(s.truth, s.transactions, interactions, AS_OF, HORIZON)
    then = best_achievable_churn_probability(s.truth, s.transactions, interactions, later, HORIZON)

    assert len(quiet_repeat) > 20
    assert (then.loc[quiet_repeat] >= now.loc[quiet_repeat] - 1e-12).all()


def test_clairvoyant_knows_who_dropped_out(reference_sample: SampleData) -> None:
    truth = reference_sample.truth.set_index("customer_id")
    clairvoyant = clairvoyant_churn_probability(reference_sample.truth, AS_OF, HORIZON)
    gone = truth["dropout_at"].notna() & (truth["dropout_at"] < AS_OF)
    alive = truth["dropout_at"].isna()

    assert gone.sum() > 0
    assert (clairvoyant[gone] == 1.0).all()
    np.testing.assert_allclose(clairvoyant[alive], np.exp(-truth.loc[alive, "purchase_rate"] * HORIZON))


def test_reference_is_the_same_on_validated_data(reference_sample: SampleData, tmp_path: Path) -> None:
    """Scores from the loaded files (the pipeline's types) equal the ones from the generator's frames."""
    s = reference_sample
    write_sample(s, tmp_path)
    data = load(tmp_path)
    truth = read_truth(tmp_path)
    assert truth is not None

    from_files = best_achievable_churn_probability(truth, data.transactions, data.interactions, AS_OF,
                                                   HORIZON)
    from_memory = best_achievable_churn_probability(s.truth, s.transactions, s.interactions, AS_OF, HORIZON)
    labels_files = churn_labels(data.customers, data.transactions, AS_OF, HORIZON)
    labels_memory = churn_labels(s.customers, s.transactions, AS_OF, HORIZON)

    pd.testing.assert_series_equal(from_files.sort_index(), from_memory.sort_index(), check_index_type=False,
                                   check_index=False)
    assert list(from_files.sort_index().index) == list(from_memory.sort_index().index)
    assert (labels_files.to_numpy() == labels_memory.to_numpy()).all()


def test_churn_labels_on_hand_made_data() -> None:
    customers = pd.DataFrame({
        "customer_id": ["buys", "silent", "cancels", "same_day", "never"],
        "churned_at": pd.to_datetime([None, None, "2025-07-01", None, None]),
    })
    transactions = pd.DataFrame({
        "customer_id": ["buys", "buys", "silent", "cancels", "same_day"],
        "timestamp": pd.to_datetime(["2025-05-01", "2025-06-20 10:00", "2025-05-30",
                                     "2025-06-10", "2025-06-01 18:00"], format="ISO8601"),
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
    })

    labels = churn_labels(customers, transactions, AS_OF, HORIZON)

    assert labels.to_dict() == {"buys": 0, "silent": 1, "cancels": 1, "same_day": 1, "never": 1}
    assert churn_labels(customers, transactions, AS_OF, 10)["buys"] == 1  # 20 June is past a 10-day horizon
