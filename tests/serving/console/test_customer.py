"""The customer page over real HTTP: its score, reasons, a timeline that holds exactly the customer's rows of
the last 365 days (counted here from the input files), the charts, awkward ids, and 404 for an unknown id."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pytest

from features.sentiment_cache import CACHE_DIR, CACHE_FILE
from retain.actions import ACTION_NAMES
from serving.console.copies import FOLDER, SortedCopies
from serving.console.render import customer_path
from serving.console.timeline import probability_history, read_timeline
from tests.serving.conftest import AS_OF, AWKWARD_IDS, Store
from tests.serving.console.conftest import Page

END = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
START = END - pd.Timedelta(days=365)


@pytest.fixture(scope="module")
def inputs(store: Store) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(store.data_dir / f"{name}.parquet") for name in ("transactions", "interactions")}


def busiest(inputs: dict[str, pd.DataFrame]) -> str:
    contacts = inputs["interactions"]
    recent = contacts[(contacts["opened_at"] >= START) & (contacts["opened_at"] < END) & contacts["text"].notna()]
    return str(recent["customer_id"].value_counts().index[0])


def test_the_page_shows_the_score_reasons_and_charts(agent: httpx.Client, store: Store,
                                                     inputs: dict[str, pd.DataFrame]) -> None:
    customer = busiest(inputs)
    row = store.scores().set_index("customer_id").loc[customer]
    page = Page(agent.get(customer_path(customer)).text)
    assert customer in page.one("h1").content
    score = page.one("dl", id="score").content
    assert f"{row['churn_probability']:.1%}" in score and f"{row['value_at_risk']:,.2f}" in score
    reasons = page.one("ol", id="reasons").content
    assert all(r in reasons for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if isinstance(r, str))
    for figure in ("sentiment-chart", "purchase-chart", "probability-history"):
        assert "<svg" not in page.one("figure", id=figure).content  # markup, not escaped text
    assert len(page.find("svg")) == 3 and len(page.find("title")) >= 4  # the page's <title> and one per chart


def test_the_page_lists_the_next_best_actions_best_first(agent: httpx.Client, store: Store) -> None:
    scores = store.scores()
    acted = scores[scores["best_action"].notna()].iloc[0]
    page = Page(agent.get(customer_path(acted["customer_id"])).text)
    rows = page.with_attr("data-action", "tr")
    names = [row.attrs["data-action"] for row in rows]
    assert names[0] == acted["best_action"]
    saved = [acted[f"value_saved_{name}"] for name in names]
    assert saved == sorted(saved, reverse=True)
    assert f"{acted['value_saved']:,.2f}" in page.one("table", id="actions").content
    assert "observational data" in page.one("section", id="actions-section").content
    no_action = scores[[f"churn_probability_after_{name}" for name in ACTION_NAMES]].isna().all(axis=1)
    idle = scores[no_action].iloc[0]
    section = Page(agent.get(customer_path(idle["customer_id"])).text).one("section", id="actions-section")
    assert "No action applies" in section.content


def test_the_timeline_holds_the_last_365_days(agent: httpx.Client, store: Store,
                                              inputs: dict[str, pd.DataFrame]) -> None:
    customer = busiest(inputs)
    buys, contacts = inputs["transactions"], inputs["interactions"]
    purchases = buys[(buys["customer_id"] == customer) & (buys["timestamp"] >= START) & (buys["timestamp"] < END)]
    talks = contacts[(contacts["customer_id"] == customer) & (contacts["opened_at"] >= START)
                     & (contacts["opened_at"] < END)]
    page = Page(agent.get(customer_path(customer)).text)
    assert len(page.find("tr", class_="purchase")) == len(purchases)
    rows = page.find("tr", class_="contact")
    assert len(rows) == len(talks) > 0
    shown = " ".join(r.content for r in rows)
    assert all(text in shown for text in talks["text"].dropna())
    cache = pd.read_parquet(store.data_dir / CACHE_DIR / CACHE_FILE).set_index("interaction_id")
    for text, interaction in zip(talks["text"], talks["interaction_id"], strict=True):
        if isinstance(text, str) and interaction in cache.index:
            assert f"{cache.loc[interaction, 'sentiment']:+.2f}" in shown


def test_an_old_event_is_not_on_the_timeline(agent: httpx.Client, inputs: dict[str, pd.DataFrame]) -> None:
    buys = inputs["transactions"]
    old = buys[buys["timestamp"] < START - pd.Timedelta(days=30)]
    customer = str(old["customer_id"].iloc[0])
    when = old["timestamp"].iloc[0].to_pydatetime()
    text = agent.get(customer_path(customer)).text
    assert f"{when:%Y-%m-%d %H:%M}" not in text


def test_the_probability_history_has_the_current_batch(agent: httpx.Client, store: Store) -> None:
    row = store.scores().iloc[0]
    page = Page(agent.get(customer_path(row["customer_id"])).text)
    figure = page.one("figure", id="probability-history")
    assert store.batch_id in figure.content and f"{row['churn_probability']:.1%}" in figure.content


@pytest.mark.parametrize("customer", sorted(AWKWARD_IDS.values()))
def test_awkward_ids_have_their_page(agent: httpx.Client, customer: str) -> None:
    answer = agent.get(customer_path(customer))
    assert answer.status_code == 200
    assert customer in Page(answer.text).one("h1").content
    work_list = Page(agent.get("/app/?q=" + httpx.URL("", params={"q": customer}).query.decode()[2:]).text)
    links = [a.attrs["href"] for a in work_list.find("a") if a.content == customer]
    assert links == [customer_path(customer)]


def test_an_unknown_customer_is_404(agent: httpx.Client) -> None:
    answer = agent.get("/app/customers/NOPE-123")
    assert answer.status_code == 404
    assert Page(answer.text).one("p", role="alert").content


def test_the_outreach_form_is_on_the_page(agent: httpx.Client) -> None:
    page = Page(agent.get("/app/customers/ACME%2F42").text)
    form = page.one("form", id="outreach")
    assert form.attrs["method"] == "post" and form.attrs["action"] == "/app/customers/ACME%2F42/outreach"
    assert [o.attrs["value"] for o in page.find("option")] == ["contacted", "saved", "not_reachable", "declined"]
    assert page.find("textarea", name="note") and page.find("input", name="csrf_token")
    assert page.one("ul", id="outreach-log").content == ""  # no item (not even a placeholder) before any outcome


def test_the_timeline_window_ends_at_the_batch_cutoff() -> None:
    from serving.console.timeline import _window

    start, end = _window(dt.date(2025, 12, 31))
    assert end == pd.Timestamp("2026-01-01") and start == pd.Timestamp("2025-01-01")


def test_sorted_copies_give_the_same_rows_as_the_sources(data_copy: Path, inputs: dict[str, pd.DataFrame]) -> None:
    customers = [busiest(inputs), "ACME/42", "-42", "NOPE"]
    direct = [read_timeline(data_copy, c, AS_OF) for c in customers]
    history = [probability_history(data_copy, c) for c in customers]
    copies = SortedCopies(data_copy)
    for customer in customers:  # the first reads queue the copies and still read the sources
        read_timeline(data_copy, customer, AS_OF, copies)
        probability_history(data_copy, customer, copies)
    copies.join()
    assert {p.name.split("-")[0] for p in (data_copy / FOLDER).glob("*.parquet")} == \
        {"interactions", "scores", "transactions"}
    assert copies.ready("transactions", [data_copy / "transactions.parquet"], "unused", []) is not None
    for customer, before, earlier in zip(customers, direct, history, strict=True):
        after = read_timeline(data_copy, customer, AS_OF, copies)
        pd.testing.assert_frame_equal(after.purchases, before.purchases, check_dtype=False)
        columns = ["interaction_id", "opened_at", "channel", "transfers", "resolved", "text", "sentiment"]
        pd.testing.assert_frame_equal(after.contacts[columns], before.contacts[columns], check_dtype=False)
        pd.testing.assert_frame_equal(probability_history(data_copy, customer, copies), earlier, check_dtype=False)
    assert direct[0].contacts["sentiment"].notna().any()


def test_an_edited_text_shows_no_stale_sentiment(data_copy: Path, inputs: dict[str, pd.DataFrame]) -> None:
    customer = busiest(inputs)
    contacts = inputs["interactions"].copy()
    contacts.loc[contacts["customer_id"] == customer, "text"] = "a completely new text"
    contacts.to_parquet(data_copy / "interactions.parquet", index=False)
    timeline = read_timeline(data_copy, customer, AS_OF)
    assert len(timeline.contacts) > 0 and timeline.contacts["sentiment"].isna().all()


def test_warming_up_builds_the_work_list_index_and_the_copies(store: Store, data_copy: Path) -> None:
    from batch.store import ScoreBatch, store_dir
    from serving.console import Console, warm
    from serving.state import ScoreView

    shutil.rmtree(data_copy / FOLDER, ignore_errors=True)  # copied from the shared store's folder
    view = ScoreView.from_batch(ScoreBatch.load(store_dir(data_copy)))
    console = Console(store.settings(data_dir=data_copy))
    warm(console, view).join(timeout=60)
    console.copies.join()
    assert console.worklists.get(view) is console.worklists.get(view)
    assert {p.name.split("-")[0] for p in (data_copy / FOLDER).glob("*.parquet")} == \
        {"interactions", "scores", "transactions"}
    assert console.copies.ready("transactions", [data_copy / "transactions.parquet"], "unused", []) is not None
