"""One customer's page: opened from the list (awkward ids too), it explains the score; an outcome recorded there
is still there after the server restarts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console, Tab, sign_in
from tests.console.worklist import batch_frame, customer_path, row_ids
from tests.serving.conftest import AWKWARD_IDS


@pytest.fixture(scope="module")
def batch(console: Console) -> pd.DataFrame:
    return batch_frame(console.data_dir).set_index("customer_id")


def test_a_customer_opened_from_the_list_shows_score_reasons_timeline_and_charts(
        console: Console, signed_in: Tab, batch: pd.DataFrame) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    customer = row_ids(page)[0]
    page.locator("#work-list tbody tr").first.locator("a").first.click()
    expect(page).to_have_url(console.url + customer_path(customer))

    expect(page.locator("h1")).to_contain_text(customer)
    row = batch.loc[customer]
    expect(page.locator("dl#score")).to_contain_text(str(row["risk_tier"]))
    reasons = [row[f"reason_{n}"] for n in (1, 2, 3) if isinstance(row[f"reason_{n}"], str) and row[f"reason_{n}"]]
    expect(page.locator("ol#reasons > li")).to_have_count(len(reasons))
    for reason in reasons:
        expect(page.locator("ol#reasons")).to_contain_text(reason)
    expect(page.locator("section#timeline table")).to_be_visible()
    for chart in ("sentiment-chart", "purchase-chart", "probability-history"):
        figure = page.locator(f"figure#{chart}")
        expect(figure.locator("svg")).to_have_count(1)
        title = figure.locator("svg > title")  # the chart's accessible name (points may carry titles of their own)
        assert title.count() == 1 and (title.text_content() or "").strip(), f"{chart}: the svg has no <title>"
    expect(page.locator("form#outreach select[name=outcome] option")).to_have_count(4)


@pytest.mark.parametrize("original", sorted(AWKWARD_IDS))
def test_awkward_ids_open_their_own_page(console: Console, signed_in: Tab, original: str) -> None:
    """Clicking an id opens that customer, ".." included: browsers resolve even a `%2E%2E` path segment as `..`
    (WHATWG URL), so the console links that one by query (`/app/customer?id=..`)."""
    customer = AWKWARD_IDS[original]
    page = signed_in.page
    page.goto(console.url + "/app/")
    page.locator("form#filters [name=q]").fill(customer)
    page.locator("form#filters button[type=submit]").click()
    page.locator("#work-list tbody").get_by_role("link", name=customer, exact=True).click()
    expect(page.locator("dl#score")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(customer)


def test_an_unknown_customer_is_a_404_page(console: Console, signed_in: Tab) -> None:
    response = signed_in.page.goto(console.url + customer_path("no-such-customer"))
    assert response is not None and response.status == 404


def test_a_recorded_outcome_survives_a_server_restart(
        start_console: Callable[[Path], AbstractContextManager[Console]], data_copy: Path,
        open_tab: Callable[..., Tab]) -> None:
    customer, note = AWKWARD_IDS["C0000002"], "Called back; offered <b>10%</b> off & a free month"
    with start_console(data_copy) as first:
        page = open_tab().page
        sign_in(page, first.url, first.keys.admin, customer_path(customer))
        expect(page.locator("h1")).to_contain_text(customer)
        page.locator("form#outreach select[name=outcome]").select_option("saved")
        page.locator("form#outreach textarea[name=note]").fill(note)
        page.locator("form#outreach button[type=submit]").click()
        expect(page).to_have_url(first.url + customer_path(customer))
        expect(page.locator("#outreach-log li[data-outcome=saved]")).to_have_count(1)

    with start_console(data_copy) as second:  # a new app and server over the same folder
        page = open_tab().page
        sign_in(page, second.url, second.keys.reader, customer_path(customer))
        entry = page.locator("#outreach-log li")
        expect(entry).to_have_count(1)
        expect(entry).to_have_attribute("data-outcome", "saved")
        expect(entry).to_contain_text(note)  # as text, markup and all
        expect(entry).to_contain_text("admin")  # the role of the key that recorded it
        expect(entry.locator("b")).to_have_count(0)
