"""The work list through the browser: filters narrow it to what the store's batch says, headers sort it both
ways, Next pages through it, and the CSV download holds exactly the rows the pages show."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from retain.csv_export import safe_cell
from tests.console.conftest import Console, Tab, sign_in
from tests.console.worklist import (
    COLUMNS,
    all_pages,
    batch_frame,
    column_texts,
    expected_ids,
    number,
    row_ids,
    summary_count,
)
from tests.serving.conftest import FORMULA_SEGMENT

PAGE_SIZE = 50


@pytest.fixture(scope="module")
def batch(console: Console) -> pd.DataFrame:
    return batch_frame(console.data_dir)


def apply_filters(page: Page, **values: Any) -> None:
    """Fill the filter form as an agent would (selects, numbers, text, checkbox) and press Apply."""
    form = page.locator("form#filters")
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if name in ("tier", "segment", "country"):
            field.select_option(value=str(value))
        elif name == "has_open_case":
            field.check()
        else:
            field.fill(str(value))
    form.locator("button[type=submit]").click()


def test_the_list_opens_in_value_at_risk_order_with_the_contract_columns(console: Console, signed_in: Tab,
                                                                         batch: pd.DataFrame) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    headers = page.locator("#work-list thead th")
    expect(headers).to_have_count(len(COLUMNS))
    assert [h.get_attribute("data-column") for h in headers.all()] == COLUMNS
    assert {h.get_attribute("scope") for h in headers.all()} == {"col"}
    assert summary_count(page) == len(batch)
    total = float(str(page.locator("#summary").get_attribute("data-value-at-risk")))
    assert total == pytest.approx(batch["value_at_risk"].sum(), rel=1e-6)
    assert row_ids(page) == expected_ids(batch)[:PAGE_SIZE]


def _filter_cases(batch: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One narrowing value per filter, taken from the batch so each keeps some customers and drops others."""
    tiers = batch["risk_tier"].value_counts()
    countries = batch["country"].value_counts()
    return {
        "tier": {"tier": str(tiers.index[-1])},
        "segment": {"segment": FORMULA_SEGMENT},  # quotes, an ampersand and a formula in a query parameter
        "country": {"country": str(countries.index[0])},
        "min_clv": {"min_clv": round(float(batch["clv"].quantile(0.8)), 2)},
        "q": {"q": "ACME"},
        "tier+country": {"tier": str(tiers.index[0]), "country": str(countries.index[-1])},
    }


@pytest.mark.parametrize("case", ["tier", "segment", "country", "min_clv", "q", "tier+country"])
def test_each_filter_narrows_the_list_to_the_batch_rows_it_names(console: Console, signed_in: Tab,
                                                                 batch: pd.DataFrame, case: str) -> None:
    filters = _filter_cases(batch)[case]
    expected = expected_ids(batch, **filters)
    assert 0 < len(expected) < len(batch), f"{case}: {filters} does not narrow this store's batch"

    page = signed_in.page
    page.goto(console.url + "/app/")
    apply_filters(page, **filters)
    expect(page.locator("#summary")).to_have_attribute("data-count", str(len(expected)))
    assert row_ids(page) == expected[:PAGE_SIZE]
    total = float(str(page.locator("#summary").get_attribute("data-value-at-risk")))
    assert total == pytest.approx(batch.set_index("customer_id").loc[expected, "value_at_risk"].sum(), rel=1e-6)
    for name, value in filters.items():  # the form shows what it filters by
        assert page.locator(f"form#filters [name={name}]").input_value() == str(value)


def test_has_open_case_keeps_only_customers_with_an_open_case(console: Console, signed_in: Tab,
                                                              batch: pd.DataFrame) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    apply_filters(page, has_open_case=True)
    expect(page).to_have_url(re.compile(r"[?&]has_open_case=true"))
    count = summary_count(page)
    if "oldest_open_case_days" in batch:
        expected = expected_ids(batch[batch["oldest_open_case_days"].notna()])
        assert count == len(expected) and row_ids(page) == expected[:PAGE_SIZE]
    assert 0 < count < len(batch)
    ages = [number(text) for text in column_texts(page, "oldest_open_case_days")]
    assert ages and all(age is not None for age in ages), ages


def test_not_contacted_days_drops_customers_with_a_recent_outcome(private_console: Console,
                                                                  open_tab: Callable[..., Tab]) -> None:
    console = private_console
    page = open_tab().page
    sign_in(page, console.url, console.keys.reader)
    first = row_ids(page)[0]
    total = summary_count(page)

    page.goto(console.url + "/app/")
    apply_filters(page, not_contacted_days=30)
    expect(page).to_have_url(re.compile(r"[?&]not_contacted_days=30"))
    expect(page.locator("#summary")).to_have_attribute("data-count", str(total))  # nobody contacted yet

    page.locator(f"#work-list tbody tr[data-customer-id='{first}'] a").first.click()
    page.locator("form#outreach select[name=outcome]").select_option("contacted")
    page.locator("form#outreach button[type=submit]").click()
    expect(page.locator("#outreach-log li[data-outcome=contacted]")).to_have_count(1)

    page.goto(console.url + "/app/")
    apply_filters(page, not_contacted_days=30)
    expect(page.locator("#summary")).to_have_attribute("data-count", str(total - 1))
    assert first not in row_ids(page)


@pytest.mark.parametrize("column", ["clv", "customer_id"])
def test_a_header_sorts_its_column_both_ways_and_keeps_the_filters(console: Console, signed_in: Tab,
                                                                   batch: pd.DataFrame, column: str) -> None:
    tier = str(batch["risk_tier"].value_counts().index[0])
    subset = batch[batch["risk_tier"] == tier]
    page = signed_in.page
    page.goto(console.url + "/app/")
    apply_filters(page, tier=tier)
    expect(page.locator("#summary")).to_have_attribute("data-count", str(len(subset)))

    orders = []
    for _ in range(2):
        url = page.url
        page.locator(f"#work-list thead a[data-sort={column}]").click()
        expect(page).not_to_have_url(url)
        expect(page.locator("#summary")).to_have_attribute("data-count", str(len(subset)))
        order = "desc" if "order=desc" in page.url else "asc"
        assert f"sort={column}" in page.url and f"order={order}" in page.url, page.url
        orders.append(order)
        if column == "customer_id":
            ids = sorted(subset["customer_id"].astype(str), reverse=order == "desc")
            assert row_ids(page) == ids[:PAGE_SIZE]
        else:
            shown = [number(text) for text in column_texts(page, column)]
            values = [value for value in shown if value is not None]
            assert values == sorted(values, reverse=order == "desc"), shown
            extreme = subset[column].max() if order == "desc" else subset[column].min()
            assert row_ids(page)[0] in set(subset.loc[subset[column] == extreme, "customer_id"])
    assert sorted(orders) == ["asc", "desc"], orders


def test_next_pages_through_the_list_without_skipping_or_repeating(console: Console, signed_in: Tab,
                                                                   batch: pd.DataFrame) -> None:
    expected = expected_ids(batch)
    page = signed_in.page
    page.goto(console.url + "/app/")
    assert row_ids(page) == expected[:PAGE_SIZE]
    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    assert row_ids(page) == expected[PAGE_SIZE:2 * PAGE_SIZE]

    page.goto(console.url + "/app/")
    apply_filters(page, segment=FORMULA_SEGMENT)  # two customers: one page, no Next
    expect(page.locator("#summary")).to_have_attribute("data-count", "2")
    expect(page.locator("a[rel=next]")).to_have_count(0)


def _download(page: Page) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_the_csv_download_holds_exactly_the_rows_the_pages_show(console: Console, signed_in: Tab,
                                                                batch: pd.DataFrame) -> None:
    min_clv = round(float(batch["clv"].sort_values(ascending=False).iloc[120]), 2)  # about three pages
    expected = expected_ids(batch, min_clv=min_clv)
    page = signed_in.page
    page.goto(console.url + "/app/")
    apply_filters(page, min_clv=min_clv)
    expect(page.locator("#summary")).to_have_attribute("data-count", str(len(expected)))
    rows = _download(page)
    shown = all_pages(page)
    assert shown == expected
    assert [row["customer_id"] for row in rows] == [safe_cell(customer) for customer in shown]
    by_id = batch.set_index("customer_id")
    for row, customer in zip(rows, shown, strict=True):
        assert float(row["value_at_risk"]) == pytest.approx(by_id.loc[customer, "value_at_risk"], rel=1e-6)
        assert float(row["clv"]) == pytest.approx(by_id.loc[customer, "clv"], rel=1e-6)
        assert row["risk_tier"] == by_id.loc[customer, "risk_tier"]


def test_the_csv_keeps_awkward_ids_as_text_a_spreadsheet_will_not_run(console: Console, signed_in: Tab,
                                                                      batch: pd.DataFrame) -> None:
    expected = expected_ids(batch, q="-")  # "-42" and "ACME-777...": a leading "-" is a formula to a spreadsheet
    page = signed_in.page
    page.goto(console.url + "/app/")
    apply_filters(page, q="-")
    expect(page.locator("#summary")).to_have_attribute("data-count", str(len(expected)))
    rows = _download(page)
    assert [row["customer_id"] for row in rows] == [safe_cell(customer) for customer in expected]
    assert "'-42" in [row["customer_id"] for row in rows]
