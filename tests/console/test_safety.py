"""What the console must never do: run a value as markup, allow inline scripts, or hide where the keyboard is."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import Console, Tab
from tests.console.worklist import customer_path
from tests.serving.conftest import FORMULA_SEGMENT, SCRIPT, SCRIPT_ID

PAGES = {"login": "/app/login", "work-list": "/app/", "customer": customer_path("C0000001"),
         "overview": "/app/overview"}
HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY"}


def _no_script_ran(tab: Tab) -> None:
    assert tab.dialogs == [], f"a value ran as script: dialogs {tab.dialogs}"
    injected = tab.page.locator("script").evaluate_all("scripts => scripts.filter(s => s.text.includes('alert('))"
                                                      ".length")
    assert injected == 0, "a <script> element holding a value made it into the DOM"


def test_script_values_show_as_text_and_never_run(console: Console, signed_in: Tab) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    page.locator("form#filters [name=q]").fill(SCRIPT_ID)
    page.locator("form#filters button[type=submit]").click()
    expect(page.locator("#summary")).to_have_attribute("data-count", "1")
    expect(page.locator("#work-list tbody tr").first).to_have_attribute("data-customer-id", SCRIPT_ID)
    link = page.locator("#work-list tbody").get_by_role("link", name=SCRIPT_ID, exact=True)
    expect(link).to_have_text(SCRIPT_ID)
    expect(page.locator("form#filters [name=q]")).to_have_value(SCRIPT_ID)  # echoed into the form as a value
    _no_script_ran(signed_in)

    link.click()
    expect(page.locator("h1")).to_contain_text(SCRIPT_ID)
    expect(page.locator("section#timeline")).to_contain_text(SCRIPT + " and still waiting")
    _no_script_ran(signed_in)

    page.goto(console.url + "/app/overview")
    expect(page.locator("table#by-segment")).to_contain_text(FORMULA_SEGMENT)
    page.goto(console.url + "/app/")
    options = page.locator("form#filters [name=segment] option").evaluate_all("os => os.map(o => o.value)")
    assert FORMULA_SEGMENT in options
    _no_script_ran(signed_in)


def _script_sources(policy: str) -> list[str]:
    """The sources scripts may come from: `script-src`, else `default-src` (CSP level 3 fallback)."""
    directives = {part.split()[0].lower(): part.split()[1:] for part in policy.split(";") if part.split()}
    return directives.get("script-src", directives.get("default-src", []))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_sends_a_csp_without_inline_scripts_and_the_other_headers(
        console: Console, signed_in: Tab, open_tab: Callable[..., Tab], name: str) -> None:
    tab = open_tab() if name == "login" else signed_in
    response = tab.page.goto(console.url + PAGES[name])
    assert response is not None and response.status == 200, response and response.status
    headers = response.headers
    policy = headers.get("content-security-policy")
    assert policy, f"{PAGES[name]}: no Content-Security-Policy header"
    sources = _script_sources(policy)
    assert sources, f"{PAGES[name]}: the policy restricts no scripts: {policy!r}"
    assert "'unsafe-inline'" not in sources and "*" not in sources, policy
    for header, value in HEADERS.items():
        assert headers.get(header, "").lower() == value.lower(), (header, headers.get(header))
    tab.page.wait_for_load_state("load")
    refused = [text for text in tab.console_errors if "Content Security Policy" in text]
    assert refused == [], f"{PAGES[name]}: the page breaks its own policy: {refused}"


def _outline(page: Page, selector: str) -> dict[str, str]:
    return page.locator(selector).first.evaluate(
        "e => { const s = getComputedStyle(e); return {outline: `${s.outlineStyle} ${s.outlineWidth} "
        "${s.outlineColor}`, shadow: s.boxShadow, matches: String(e.matches(':focus'))}; }")


def _tab_until(page: Page, selector: str, limit: int = 80) -> bool:
    """Press Tab until the focused element matches `selector`; False if it never does within `limit` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return True
    return False


def test_the_keyboard_reaches_filters_and_rows_with_a_visible_focus(console: Console, signed_in: Tab) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    expect(page.locator("#work-list tbody tr").first).to_be_visible()
    link = "#work-list tbody a"
    before = _outline(page, link)

    assert _tab_until(page, "form#filters [name=tier]"), "Tab never reaches the tier filter"
    assert _tab_until(page, "form#filters button[type=submit]"), "Tab never reaches Apply"
    assert _tab_until(page, link), "Tab never reaches a customer link in the table"
    focused = page.evaluate("() => document.activeElement.closest('tr').dataset.customerId")
    after = _outline(page, ":focus")
    assert after["matches"] == "true"
    assert (after["outline"], after["shadow"]) != (before["outline"], before["shadow"]), (
        f"no visible focus on the link to {focused}: outline and box-shadow are the same focused and not")
    assert not after["outline"].startswith("none") or after["shadow"] != "none", after

    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(str(focused))
