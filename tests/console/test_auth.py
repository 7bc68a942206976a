"""Signing in and out of the console: the key is checked, pages need a session, the session cookie stays out of
JavaScript's reach, and forms without their CSRF token are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console, Tab, expect_login, sign_in

PAGES = ["/app/", "/app/overview", "/app/customers/C0000001"]


def test_a_wrong_key_is_refused_and_the_right_one_lands_on_the_page_asked_for(
        console: Console, open_tab: Callable[..., Tab]) -> None:
    page = open_tab().page
    page.goto(console.url + "/app/overview")
    expect_login(page, "/app/overview")

    with page.expect_response(lambda r: r.request.method == "POST" and "/app/login" in r.url) as answer:
        page.fill("#api_key", "not-a-key-" + "x" * 30)
        page.locator("form#login button[type=submit]").click()
    assert answer.value.status == 401
    expect(page.locator("p.error[role=alert]")).to_be_visible()
    expect(page.locator("form#logout")).to_have_count(0)

    page.fill("#api_key", console.keys.reader)
    page.locator("form#login button[type=submit]").click()
    expect(page).to_have_url(console.url + "/app/overview")
    expect(page.locator("#batch")).to_be_visible()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_login(console: Console, open_tab: Callable[..., Tab],
                                                     path: str) -> None:
    page = open_tab().page
    response = page.goto(console.url + path)
    assert response is not None
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.url == console.url + path
    assert redirect.response() is not None and redirect.response().status == 303  # type: ignore[union-attr]
    expect_login(page, path)


def test_login_does_not_follow_a_next_that_leaves_the_console(console: Console,
                                                              open_tab: Callable[..., Tab]) -> None:
    page = open_tab().page
    page.goto(console.url + "/app/login?next=https%3A%2F%2Fevil.example%2F")
    page.fill("#api_key", console.keys.reader)
    page.locator("form#login button[type=submit]").click()
    expect(page.locator("form#logout")).to_be_attached()
    assert page.url.startswith(console.url + "/app/")


def test_sign_out_ends_the_session(console: Console, open_tab: Callable[..., Tab]) -> None:
    page = open_tab().page
    sign_in(page, console.url, console.keys.admin)
    expect(page.locator("#work-list")).to_be_visible()

    page.locator("form#logout button").click()
    expect(page.locator("form#login")).to_be_visible()
    for path in PAGES:
        page.goto(console.url + path)
        expect_login(page, path)


def test_the_session_cookie_is_not_readable_from_javascript(console: Console, signed_in: Tab) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    expect(page.locator("#work-list")).to_be_visible()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert "retain_session" in cookies, f"no retain_session cookie: {sorted(cookies)}"
    assert cookies["retain_session"]["httpOnly"] is True
    assert cookies["retain_session"]["sameSite"] == "Strict"
    assert "retain_session" not in page.evaluate("() => document.cookie")


def test_a_post_without_the_csrf_token_is_refused(console: Console, signed_in: Tab) -> None:
    page = signed_in.page
    page.goto(console.url + "/app/")
    expect(page.locator("form#logout")).to_be_attached()
    token = page.locator("form#logout input[name=csrf_token]").get_attribute("value")
    assert token, "the sign-out form carries no csrf_token"

    forms: list[dict[str, str | float | bool]] = [{}, {"csrf_token": "forged-" + token[::-1]}]
    for form in forms:
        answer = page.request.post(console.url + "/app/logout", form=form, max_redirects=0)
        assert answer.status == 403, (form, answer.status)
        answer = page.request.post(console.url + "/app/customers/C0000001/outreach",
                                   form={**form, "outcome": "saved", "note": "no token"}, max_redirects=0)
        assert answer.status == 403, (form, answer.status)
    page.goto(console.url + "/app/")  # the session survived the refused sign-out
    expect(page.locator("#work-list")).to_be_visible()
