"""Every value is escaped: a customer id, segment, country and reason of `<script>alert(1)</script>` show as text
on every page (a served copy of the batch with those values)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from batch.store import current_info, store_dir
from serving.console.render import customer_path
from tests.serving.conftest import Keys, Store, running_server
from tests.serving.console.conftest import Page, row_ids, sign_in

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def hostile(store: Store, keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    import shutil

    data = Path(shutil.copytree(store.data_dir, tmp_path_factory.mktemp("hostile") / "data"))
    info = current_info(store_dir(data))
    assert info is not None
    path = store_dir(data) / info.file
    batch = pd.read_parquet(path)
    batch.loc[0, "customer_id"] = SCRIPT
    batch.loc[[0, 1], "segment"] = SCRIPT
    batch.loc[[0, 1], "country"] = SCRIPT
    batch.loc[:700, "reason_1"] = SCRIPT  # the most frequent reason
    batch.loc[0, "value_at_risk"] = batch["value_at_risk"].max() + 1  # first on the list
    batch.to_parquet(path, index=False)
    with running_server(store.settings(data_dir=data, **keys.settings_changes())) as url, \
            sign_in(url, keys.reader) as client:
        yield client


def unsafe(html: str) -> bool:
    return SCRIPT in html or "<script" in html.lower()


def test_the_work_list_escapes(hostile: httpx.Client) -> None:
    answer = hostile.get("/app/")
    assert not unsafe(answer.text) and "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert row_ids(answer.text)[0] == SCRIPT
    page = Page(answer.text)
    assert SCRIPT in [o.attrs["value"] for o in page.find("option")]
    assert page.one("a", href=customer_path(SCRIPT)).content == SCRIPT
    filtered = hostile.get("/app/", params={"segment": SCRIPT, "q": SCRIPT, "country": SCRIPT})
    assert not unsafe(filtered.text) and row_ids(filtered.text) == [SCRIPT]


def test_the_customer_page_escapes(hostile: httpx.Client) -> None:
    answer = hostile.get(customer_path(SCRIPT))
    assert answer.status_code == 200 and not unsafe(answer.text)
    assert Page(answer.text).one("h1").content.endswith(SCRIPT)


def test_the_overview_escapes(hostile: httpx.Client) -> None:
    answer = hostile.get("/app/overview")
    assert answer.status_code == 200 and not unsafe(answer.text)
    page = Page(answer.text)
    assert SCRIPT in page.one("table", id="by-segment").content
    assert SCRIPT in page.one("table", id="top-reasons").content


def test_the_csv_keeps_the_text(hostile: httpx.Client) -> None:
    assert hostile.get("/app/export.csv").text.splitlines()[1].startswith(SCRIPT)
