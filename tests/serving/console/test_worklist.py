"""The work list over real HTTP against the batch read independently with pandas: every filter, sorting by
every column both ways, pages that cover the filtered set exactly once, the CSV of exactly that set, and clear
messages for bad values."""

from __future__ import annotations

import csv
import io
import math
from urllib.parse import urlencode

import httpx
import pandas as pd
import pytest

from retain.csv_export import safe_cell
from tests.serving.conftest import AS_OF, FORMULA_SEGMENT, Store
from tests.serving.console.conftest import Page, row_ids

COLUMNS = ["customer_id", "churn_probability", "risk_tier", "clv", "value_at_risk", "value_saved", "best_action",
           "top_reason", "oldest_open_case_days", "days_since_last_purchase"]
TIERS = {tier: code for code, tier in enumerate(("lapsed", "low", "medium", "high"))}


@pytest.fixture(scope="module")
def batch(store: Store) -> pd.DataFrame:
    frame = store.scores().copy()
    frame["top_reason"] = frame["reason_1"]
    return frame


def expected(frame: pd.DataFrame, column: str = "value_at_risk", order: str = "desc") -> list[str]:
    """Ids in the order the list promises: missing values last, ties by customer id ascending."""
    key = frame[column].map(TIERS) if column == "risk_tier" else frame[column]
    ordered = frame.assign(_missing=key.isna(), _key=key).sort_values(
        ["_missing", "_key", "customer_id"], ascending=[True, order == "asc", True], kind="stable")
    return ordered["customer_id"].tolist()


def every_page(agent: httpx.Client, params: dict[str, str]) -> tuple[list[str], Page]:
    """The ids of every page from the first on (following rel=next), and the first page."""
    answer = agent.get("/app/?" + urlencode({**params, "limit": "400"}))
    assert answer.status_code == 200, answer.text
    first = page = Page(answer.text)
    ids = row_ids(answer.text)
    while nexts := page.find("a", rel="next"):
        answer = agent.get(nexts[0].attrs["href"])
        assert answer.status_code == 200
        page = Page(answer.text)
        ids += row_ids(answer.text)
    return ids, first


def filters(frame: pd.DataFrame) -> list[tuple[dict[str, str], pd.Series]]:
    country = frame["country"].dropna().iloc[0]
    min_clv = float(frame["clv"].median())
    return [
        ({"tier": "high"}, frame["risk_tier"] == "high"),
        ({"tier": "low"}, frame["risk_tier"] == "low"),
        ({"segment": FORMULA_SEGMENT}, frame["segment"] == FORMULA_SEGMENT),
        ({"segment": "premium [legacy]"}, frame["segment"] == "premium [legacy]"),
        ({"segment": "no such segment"}, frame["segment"] == "no such segment"),
        ({"country": country}, frame["country"] == country),
        ({"min_clv": f"{min_clv!r}"}, frame["clv"] >= min_clv),
        ({"has_open_case": "true"}, frame["oldest_open_case_days"].notna()),
        ({"q": "ACME"}, frame["customer_id"].str.contains("ACME", regex=False)),
        ({"q": "/"}, frame["customer_id"].str.contains("/", regex=False)),
        ({"tier": "high", "has_open_case": "true", "min_clv": "1"},
         (frame["risk_tier"] == "high") & frame["oldest_open_case_days"].notna() & (frame["clv"] >= 1)),
    ]


def test_the_batch_carries_the_work_list_columns_from_the_features(store: Store, batch: pd.DataFrame) -> None:
    from batch.store import CONTEXT_COLUMNS
    from features import io as feature_io
    from features.build import FeatureConfig
    from features.snapshot import prepare_sources
    from retain.ingest import load

    sources = prepare_sources(feature_io.connect(), load(store.data_dir), None, with_sentiment=False)
    features = sources.features_at(AS_OF, FeatureConfig.from_settings(store.settings())).to_pandas()
    features = features.set_index("customer_id").loc[batch["customer_id"], CONTEXT_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(batch[CONTEXT_COLUMNS].reset_index(drop=True), features, check_dtype=False)
    assert batch["oldest_open_case_days"].notna().any() and batch["oldest_open_case_days"].isna().any()


def test_the_default_list_is_the_whole_batch_by_value_at_risk(agent: httpx.Client, batch: pd.DataFrame) -> None:
    ids, first = every_page(agent, {})
    assert ids == expected(batch)
    summary = first.one("p", id="summary")
    assert int(summary.attrs["data-count"]) == len(batch)
    assert float(summary.attrs["data-value-at-risk"]) == pytest.approx(batch["value_at_risk"].sum())
    assert [th.attrs["data-column"] for th in first.find("th", scope="col")] == COLUMNS


def test_first_page_has_fifty_rows_and_a_next_link(agent: httpx.Client, batch: pd.DataFrame) -> None:
    page = agent.get("/app/")
    assert row_ids(page.text) == expected(batch)[:50]
    assert "cursor=" in Page(page.text).one("a", rel="next").attrs["href"]


@pytest.mark.parametrize("index", range(11))
def test_each_filter_gives_exactly_its_customers_once(agent: httpx.Client, batch: pd.DataFrame, index: int) -> None:
    params, keep = filters(batch)[index]
    ids, first = every_page(agent, params)
    assert ids == expected(batch[keep])
    assert ids or (not first.find("tr", class_="placeholder") and first.one("tbody").content == "")  # no fake row
    summary = first.one("p", id="summary")
    assert int(summary.attrs["data-count"]) == int(keep.sum())
    assert float(summary.attrs["data-value-at-risk"]) == pytest.approx(batch.loc[keep, "value_at_risk"].sum())


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("column", COLUMNS)
def test_sorting_by_each_column(agent: httpx.Client, batch: pd.DataFrame, column: str, order: str) -> None:
    ids, first = every_page(agent, {"sort": column, "order": order})
    assert ids == expected(batch, column, order)
    header = first.one("th", data_column=column)
    assert header.attrs["aria-sort"] == ("ascending" if order == "asc" else "descending")


def test_sorted_and_filtered_pages(agent: httpx.Client, batch: pd.DataFrame) -> None:
    keep = batch["oldest_open_case_days"].notna()
    ids, _ = every_page(agent, {"has_open_case": "true", "sort": "days_since_last_purchase", "order": "desc"})
    assert ids == expected(batch[keep], "days_since_last_purchase", "desc")


def test_sort_links_keep_the_filters_and_drop_the_cursor(agent: httpx.Client) -> None:
    first = Page(agent.get("/app/?tier=high&limit=5").text)
    following = first.one("a", rel="next").attrs["href"]
    page = Page(agent.get(following).text)
    for link in page.find("a"):
        if "data-sort" in link.attrs:
            href = link.attrs["href"]
            assert "tier=high" in href and f"sort={link.attrs['data-sort']}" in href and "cursor" not in href
            assert "order=asc" in href or "order=desc" in href


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("params", [{}, {"tier": "high", "sort": "clv", "order": "asc"},
                                    {"segment": FORMULA_SEGMENT}, {"q": "ACME"}])
def test_csv_is_exactly_the_filtered_list(agent: httpx.Client, batch: pd.DataFrame,
                                          params: dict[str, str]) -> None:
    page = Page(agent.get("/app/?" + urlencode(params)).text)
    answer = agent.get(page.one("a", id="download-csv").attrs["href"])
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    header, *rows = read_csv(answer.text)
    assert header == COLUMNS
    listed, _ = every_page(agent, params)
    assert [r[0] for r in rows] == [str(safe_cell(i)) for i in listed]
    by_id = batch.set_index("customer_id")
    for row in rows[:100]:
        customer = by_id.loc[listed[[r[0] for r in rows].index(row[0])]]
        for name, cell in zip(COLUMNS[1:], row[1:], strict=True):
            value = customer[name]
            if isinstance(value, float):
                assert (cell == "" and math.isnan(value)) or float(cell) == pytest.approx(value)
            else:
                assert cell == ("" if value is None else str(safe_cell(value)))


@pytest.mark.parametrize(("query", "field"), [
    ("min_clv=abc", "min_clv"), ("min_clv=nan", "min_clv"), ("tier=urgent", "tier"), ("sort=bogus", "sort"),
    ("order=up", "order"), ("limit=0", "limit"), ("limit=5000", "limit"), ("not_contacted_days=-3",
                                                                            "not_contacted_days"),
    ("not_contacted_days=1.5", "not_contacted_days"), ("cursor=%%%", "cursor"), ("cursor=Zm9vOjE", "cursor"),
    ("has_open_case=maybe", "has_open_case"),
])
def test_bad_values_get_a_message_naming_the_field(agent: httpx.Client, query: str, field: str) -> None:
    answer = agent.get(f"/app/?{query}")
    assert answer.status_code == 400
    alert = Page(answer.text).one("p", role="alert")
    assert alert.content.startswith(f"{field}:")
    assert agent.get(f"/app/export.csv?{query}").status_code in (200, 400)  # paging values do not apply there


def test_a_bad_filter_of_the_export_is_refused_with_a_message(agent: httpx.Client) -> None:
    answer = agent.get("/app/export.csv?min_clv=lots")
    assert answer.status_code == 400 and "min_clv" in Page(answer.text).one("p", role="alert").content


def test_filters_round_trip_through_links_exactly() -> None:
    from serving.console.worklist import Filters

    given = Filters(tier="high", segment="premium [legacy]", min_clv=123.45678912345, has_open_case=True, q="A/B",
                    not_contacted_days=7)
    assert Filters.parse(given.query()) == given
    assert Filters.parse({}) == Filters() and not Filters().any
