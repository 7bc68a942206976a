"""Signing in and out over real HTTP: redirects to the login page and back, a wrong key, cookie flags, CSRF,
and the security headers of every console response."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from serving.console.session import COOKIE
from tests.serving.conftest import Keys, Store, running_server
from tests.serving.console.conftest import Page, csrf_of, sign_in

PAGES = ["/app/", "/app/overview", "/app/customers/C0000001", "/app/export.csv"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_login_with_next(base_url: str, path: str) -> None:
    answer = httpx.get(base_url + path + "?tier=high", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=" + quote(path + "?tier=high", safe="")


def test_sign_in_goes_to_next_and_the_page_names_the_agent(base_url: str, keys: Keys) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        login = client.get("/app/login?next=" + quote("/app/overview", safe=""))
        page = Page(login.text)
        assert page.one("form", id="login").attrs["action"] == "/app/login"
        assert page.one("input", name="next").attrs["value"] == "/app/overview"
        assert page.one("input", id="api_key").attrs["type"] == "password"
        assert page.one("label", for_="api_key").content == "API key"
        answer = client.post("/app/login", data={"api_key": keys.admin, "csrf_token": csrf_of(login.text),
                                                  "next": "/app/overview"})
        assert answer.status_code == 303 and answer.headers["location"] == "/app/overview"
        overview = client.get("/app/overview")
        assert overview.status_code == 200
        assert "(admin)" in Page(overview.text).one("p", class_="who").content


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/app/", "/v1/at-risk", "/app\\x",
                                    "javascript:alert(1)"])
def test_next_outside_the_console_goes_to_the_work_list(base_url: str, keys: Keys, target: str) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        token = csrf_of(client.get("/app/login").text)
        answer = client.post("/app/login", data={"api_key": keys.reader, "csrf_token": token, "next": target})
        assert answer.headers["location"] == "/app/"


def test_a_wrong_key_gets_the_login_page_again_with_401(base_url: str) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        token = csrf_of(client.get("/app/login").text)
        answer = client.post("/app/login", data={"api_key": "not-a-key", "csrf_token": token, "next": "/app/"})
        assert answer.status_code == 401
        assert Page(answer.text).one("p", role="alert").attrs["class"] == "error"
        assert client.get("/app/").status_code == 303


def test_the_env_configured_key_signs_in_too(base_url: str, keys: Keys) -> None:
    with sign_in(base_url, keys.env_reader) as client:
        assert client.get("/app/").status_code == 200


def test_the_session_cookie_flags(base_url: str, keys: Keys) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        token = csrf_of(client.get("/app/login").text)
        answer = client.post("/app/login", data={"api_key": keys.reader, "csrf_token": token, "next": "/app/"})
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
        assert "httponly" in flags and flags["samesite"].strip().lower() == "samesite=strict"
        assert "secure" not in flags  # plain HTTP here; see test_session for HTTPS
        assert keys.reader not in cookie


def test_sign_out_ends_the_session(base_url: str, keys: Keys) -> None:
    with sign_in(base_url, keys.reader) as client:
        page = client.get("/app/")
        form = Page(page.text).one("form", id="logout")
        assert form.attrs["action"] == "/app/logout"
        answer = client.post("/app/logout", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/app/login"
        assert client.get("/app/").status_code == 303


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_posts_without_a_valid_csrf_token_are_refused(base_url: str, keys: Keys, token: str | None) -> None:
    with sign_in(base_url, keys.reader) as client:
        data = {} if token is None else {"csrf_token": token}
        assert client.post("/app/logout", data=data).status_code == 403
        assert client.get("/app/").status_code == 200  # still signed in
        anonymous = httpx.Client(base_url=base_url)
        login = anonymous.get("/app/login")
        assert anonymous.post("/app/login", data={**data, "api_key": keys.reader}).status_code == 403
        assert login.status_code == 200


def test_a_token_of_another_session_is_refused(base_url: str, keys: Keys) -> None:
    with sign_in(base_url, keys.reader) as one, sign_in(base_url, keys.reader) as other:
        foreign = csrf_of(other.get("/app/").text)
        assert one.post("/app/logout", data={"csrf_token": foreign}).status_code == 403


def test_a_forged_cookie_is_no_session(base_url: str) -> None:
    answer = httpx.get(base_url + "/app/", cookies={COOKIE: "eyJzaWQiOiJ4Iiwia2V5IjpudWxsfQ.forged.sig"},
                       follow_redirects=False)
    assert answer.status_code == 303


@pytest.mark.parametrize("path", ["/app/login", "/app/", "/app/static/console.css", "/app/nowhere"])
def test_security_headers_on_console_responses(base_url: str, path: str) -> None:
    answer = httpx.get(base_url + path, follow_redirects=False)
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["x-frame-options"] == "DENY"


def test_api_routes_keep_their_headers(base_url: str) -> None:
    assert "content-security-policy" not in httpx.get(base_url + "/health").headers


def test_without_a_score_batch_pages_say_so(store: Store, keys: Keys, tmp_path: Path) -> None:
    settings = store.settings(data_dir=tmp_path / "empty", **keys.settings_changes())
    with running_server(settings) as url, sign_in(url, keys.reader) as client:
        for path in ("/app/", "/app/overview", "/app/customers/C1", "/app/export.csv"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert "retain score" in Page(answer.text).one("p", role="alert").content
