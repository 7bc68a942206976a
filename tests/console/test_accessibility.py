"""axe-core finds no serious or critical accessibility violation on any console page, in the states an agent
sees them: the login form (also after a wrong key), the work list filtered, a customer, the overview."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.console.axe import assert_no_serious_violations
from tests.console.conftest import Console, Tab
from tests.console.worklist import customer_path
from tests.serving.conftest import SCRIPT_ID

SIGNED_IN = {"work-list": "/app/", "work-list-filtered": "/app/?tier=high&has_open_case=true",
             "customer": customer_path("C0000010"), "customer-awkward": customer_path(SCRIPT_ID),
             "overview": "/app/overview"}


def test_login_page(console: Console, open_tab: Callable[..., Tab]) -> None:
    page = open_tab().page
    page.goto(console.url + "/app/login")
    assert_no_serious_violations(page)
    page.fill("#api_key", "wrong")
    page.locator("form#login button[type=submit]").click()
    expect(page.locator("p.error[role=alert]")).to_be_visible()
    assert_no_serious_violations(page)


@pytest.mark.parametrize("name", sorted(SIGNED_IN))
def test_signed_in_pages(console: Console, signed_in: Tab, name: str) -> None:
    response = signed_in.page.goto(console.url + SIGNED_IN[name])
    assert response is not None and response.status == 200
    assert_no_serious_violations(signed_in.page)
