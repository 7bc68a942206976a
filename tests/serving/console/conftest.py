"""Console test helpers: sign in over real HTTP, and read pages with the standard library's HTML parser.

`agent` is a client signed in to the shared test server (whose store is read-only: nothing here records
outreach on it); tests that write start their own server on a copy of the data (`data_copy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
import pytest

from tests.serving.conftest import Keys


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return "".join(self.text).strip()


class Page(HTMLParser):
    """Every element of a page with its attributes and its text (including its children's)."""

    VOID = {"input", "meta", "link", "br", "img", "hr", "circle", "line", "rect", "polyline"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.elements if (tag is None or e.tag == tag)
                and all(e.attrs.get(k) == v for k, v in wanted.items())]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]

    def with_attr(self, name: str, tag: str | None = None) -> list[Element]:
        return [e for e in self.elements if name in e.attrs and (tag is None or e.tag == tag)]


def csrf_of(html: str) -> str:
    return Page(html).find("input", name="csrf_token")[0].attrs["value"]


@contextmanager
def sign_in(base_url: str, key: str, target: str = "/app/") -> Iterator[httpx.Client]:
    """A client signed in with `key` (through the login form, as a browser does)."""
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as client:
        form = client.get("/app/login")
        answer = client.post("/app/login", data={"api_key": key, "csrf_token": csrf_of(form.text), "next": target})
        assert answer.status_code == 303, answer.text
        yield client


def row_ids(html: str) -> list[str]:
    return [e.attrs["data-customer-id"] for e in Page(html).with_attr("data-customer-id", "tr")]


@pytest.fixture(scope="module")
def agent(base_url: str, keys: Keys) -> Iterator[httpx.Client]:
    with sign_in(base_url, keys.reader) as client:
        yield client
