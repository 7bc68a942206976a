"""Small parts of the console: customer links, that templates and static files ship in the package, and that
the request log holds route templates only (no key, id or customer text)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import httpx
import pytest

from serving.console.render import STATIC, TEMPLATES, customer_path
from tests.serving.conftest import Keys
from tests.serving.console.conftest import csrf_of

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("customer", "path"), [
    ("C1", "/app/customers/C1"), ("ACME/42", "/app/customers/ACME%2F42"), ("..", "/app/customer?id=.."),
    (".", "/app/customer?id=."), ("a b?#%", "/app/customers/a%20b%3F%23%25"), ("-42", "/app/customers/-42"),
])
def test_customer_paths_are_one_encoded_segment_or_the_query(customer: str, path: str) -> None:
    """A browser resolves a `.`/`..` path segment even as %2E: those ids go in the query."""
    assert customer_path(customer) == path


def test_templates_and_static_files_ship_in_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["serving.console"]
    package = TEMPLATES.parent
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert {*TEMPLATES.iterdir(), *STATIC.iterdir()} <= shipped


def test_the_log_has_route_templates_only(base_url: str, keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    with httpx.Client(base_url=base_url) as client, caplog.at_level("INFO", logger="retain.api"):
        token = csrf_of(client.get("/app/login").text)
        client.post("/app/login", data={"api_key": keys.reader, "csrf_token": token, "next": "/app/"})
        client.get("/app/customers/ACME%2F42")
        client.get("/app/?q=secret-ish")
    lines = [r.getMessage() for r in caplog.records if r.name == "retain.api"]
    assert [re.sub(r" \d+\.\dms$", "", line) for line in lines] == [
        "GET /app/login 200", "POST /app/login 303", "GET /app/customers/{customer_id} 200", "GET /app/ 200"]
    text = "\n".join(lines)
    assert keys.reader not in text and "ACME" not in text and "secret-ish" not in text
