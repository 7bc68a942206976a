"""Sessions and CSRF tokens without a server: signing, expiry, tampering, the secret file, cookie flags."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from retain.settings import Settings
from serving.console.access import Console, safe_next, set_session
from serving.console.session import Session, Sessions, secret_path, session_secret


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path, api_keys_file=tmp_path / "keys" / "api_keys.json",  # type: ignore[call-arg]
                    **changes)


def test_a_cookie_reads_back_and_a_tampered_one_does_not() -> None:
    sessions = Sessions(b"s" * 32, 60)
    session = Session.fresh("ab" * 32)
    value = sessions.cookie_value(session)
    assert sessions.read(value) == session
    assert sessions.read(value[:-2] + ("A" if value[-1] != "A" else "B") + value[-1]) is None
    assert Sessions(b"t" * 32, 60).read(value) is None
    assert sessions.read(None) is None and sessions.read("") is None


def test_a_cookie_expires(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sessions = Sessions(b"s" * 32, 5)
    value = sessions.cookie_value(Session.fresh())
    later = time.time() + 10
    monkeypatch.setattr(time, "time", lambda: later)
    assert sessions.read(value) is None


def test_csrf_tokens_belong_to_their_session() -> None:
    sessions = Sessions(b"s" * 32, 60)
    one, other = Session.fresh(), Session.fresh()
    assert sessions.csrf_ok(one, sessions.csrf_token(one))
    assert not sessions.csrf_ok(one, sessions.csrf_token(other))
    assert not sessions.csrf_ok(None, sessions.csrf_token(one))
    assert not sessions.csrf_ok(one, None)


def test_the_secret_is_made_once_beside_the_keys_file_with_mode_0600(tmp_path: Path) -> None:
    config = settings(tmp_path)
    first = session_secret(config)
    path = secret_path(config)
    assert path == tmp_path / "keys" / "session_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret(config) == first and len(first) >= 32
    assert list(path.parent.glob("*.tmp")) == []


def test_the_setting_wins_and_writes_nothing(tmp_path: Path) -> None:
    config = settings(tmp_path, session_secret=SecretStr("x" * 40))
    assert session_secret(config) == b"x" * 40
    assert not secret_path(config).exists()


def test_building_the_console_touches_no_file(tmp_path: Path) -> None:
    Console(settings(tmp_path))
    assert list(tmp_path.iterdir()) == []


def _request(scheme: str) -> Request:
    return Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/app/", "headers": [],
                    "server": ("example.org", 443), "query_string": b""})


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    console = Console(settings(tmp_path))
    for scheme, secure in (("https", True), ("http", False)):
        response = Response()
        set_session(response, _request(scheme), console, Session.fresh())
        cookie = response.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/app" in cookie


def test_only_console_paths_are_followed_after_login() -> None:
    assert safe_next("/app/customers/ACME%2F42?x=1") == "/app/customers/ACME%2F42?x=1"
    for target in (None, "", "/", "/v1/at-risk", "//evil.example", "https://evil.example/app/", "/app\\..",
                   "/app/\nSet-Cookie: x"):
        assert safe_next(target) == "/app/"
