"""Recording outreach in the console and reading it back: the customer page's log, `/v1/outreach` (JSON, CSV,
auth, since), the not-contacted filter, and durability across a restart and a reload. Each test serves its
own copy of the data, so the shared store stays read-only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import httpx
import pytest

from serving.auth import add_key
from serving.console.outreach import OUTCOMES, OutreachError, OutreachStore
from serving.console.render import customer_path
from tests.serving.conftest import Store, running_server
from tests.serving.console.conftest import Page, csrf_of, row_ids, sign_in

CUSTOMER = "ACME/42"


@pytest.fixture()
def named_keys(tmp_path: Path) -> tuple[Path, str, str]:
    file = tmp_path / "keys" / "api_keys.json"
    file.parent.mkdir()
    return file, add_key(file, "reader", "Ana Agent"), add_key(file, "admin")


def record(client: httpx.Client, customer: str, outcome: str, note: str = "") -> httpx.Response:
    page = client.get(customer_path(customer))
    action = Page(page.text).one("form", id="outreach").attrs["action"]
    return client.post(action, data={"csrf_token": csrf_of(page.text), "outcome": outcome, "note": note})


def test_an_outcome_is_logged_newest_first_with_the_key_name_and_survives_restart_and_reload(
        store: Store, data_copy: Path, named_keys: tuple[Path, str, str]) -> None:
    file, reader, admin = named_keys
    settings = store.settings(data_dir=data_copy, api_keys_file=file)
    with running_server(settings) as url, sign_in(url, reader) as client:
        first = record(client, CUSTOMER, "not_reachable")
        assert first.status_code == 303 and first.headers["location"] == customer_path(CUSTOMER)
        assert record(client, CUSTOMER, "saved", "<b>agreed</b> to stay").status_code == 303
        log = Page(client.get(customer_path(CUSTOMER)).text)
        items = log.one("ul", id="outreach-log")
        assert [li.attrs["data-outcome"] for li in log.find("li") if "data-outcome" in li.attrs] == \
            ["saved", "not_reachable"]
        assert "Ana Agent (reader)" in items.content and "<b>agreed</b> to stay" in items.content
        assert httpx.post(f"{url}/v1/admin/reload", headers={"X-API-Key": admin}, timeout=60).status_code == 200
        after_reload = Page(client.get(customer_path(CUSTOMER)).text)
        assert len([li for li in after_reload.find("li") if "data-outcome" in li.attrs]) == 2
    with running_server(settings) as url, sign_in(url, admin) as client:  # a new process's view of the file
        page = Page(client.get(customer_path(CUSTOMER)).text)
        assert [li.attrs["data-outcome"] for li in page.find("li") if "data-outcome" in li.attrs] == \
            ["saved", "not_reachable"]


def test_v1_outreach_json_csv_since_and_auth(store: Store, data_copy: Path,
                                             named_keys: tuple[Path, str, str]) -> None:
    file, reader, admin = named_keys
    with running_server(store.settings(data_dir=data_copy, api_keys_file=file)) as url:
        assert httpx.get(f"{url}/v1/outreach").status_code == 401
        assert httpx.get(f"{url}/v1/outreach", headers={"X-API-Key": reader}).json()["items"] == []
        with sign_in(url, reader) as client:
            record(client, CUSTOMER, "contacted", "=cmd|' /C calc'!A0")
            middle = dt.datetime.now(dt.UTC)
            record(client, "-42", "declined")
        for key in (reader, admin):
            body = httpx.get(f"{url}/v1/outreach", headers={"X-API-Key": key}).json()
            assert [(i["customer_id"], i["outcome"]) for i in body["items"]] == \
                [(CUSTOMER, "contacted"), ("-42", "declined")]
            assert body["items"][0]["key_name"] == "Ana Agent" and body["items"][0]["key_role"] == "reader"
        later = httpx.get(f"{url}/v1/outreach", params={"since": middle.isoformat()},
                          headers={"X-API-Key": reader}).json()
        assert [i["customer_id"] for i in later["items"]] == ["-42"]
        for how in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
            headers = {"X-API-Key": reader, **how.get("headers", {})}
            answer = httpx.get(f"{url}/v1/outreach", params=how.get("params"), headers=headers)
            assert answer.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(answer.text)))
            assert rows[0] == ["customer_id", "outcome", "note", "key_name", "key_role", "recorded_at"]
            assert [r[0] for r in rows[1:]] == [CUSTOMER, "'-42"]
            assert rows[1][2] == "'=cmd|' /C calc'!A0"  # formula-safe
        for bad in ("yesterday", "0.5", "1700000000"):
            answer = httpx.get(f"{url}/v1/outreach", params={"since": bad}, headers={"X-API-Key": reader})
            assert answer.status_code == 422 and answer.json()["detail"][0]["msg"].startswith("since:")


def test_not_contacted_days_leaves_out_recent_outreach(store: Store, data_copy: Path,
                                                       named_keys: tuple[Path, str, str]) -> None:
    file, reader, _ = named_keys
    scores = store.scores()
    total = len(scores)
    with running_server(store.settings(data_dir=data_copy, api_keys_file=file)) as url, sign_in(url, reader) as c:
        top = row_ids(c.get("/app/?limit=3").text)
        for customer in top[:2]:
            record(c, customer, "contacted")
        page = Page(c.get("/app/?not_contacted_days=7&limit=3").text)
        assert int(page.one("p", id="summary").attrs["data-count"]) == total - 2
        assert row_ids(c.get("/app/?not_contacted_days=7&limit=3").text)[0] == top[2]


def test_bad_outreach_posts(store: Store, data_copy: Path, named_keys: tuple[Path, str, str]) -> None:
    file, reader, _ = named_keys
    with running_server(store.settings(data_dir=data_copy, api_keys_file=file)) as url, sign_in(url, reader) as c:
        page = c.get(customer_path(CUSTOMER))
        token = csrf_of(page.text)
        action = customer_path(CUSTOMER) + "/outreach"
        assert c.post(action, data={"outcome": "saved"}).status_code == 403
        assert c.post(action, data={"outcome": "saved", "csrf_token": "x"}).status_code == 403
        assert c.post(action, data={"outcome": "won", "csrf_token": token}).status_code == 400
        assert c.post(action, data={"outcome": "saved", "note": "x" * 2001, "csrf_token": token}).status_code == 400
        assert c.post("/app/customers/NOPE/outreach", data={"outcome": "saved", "csrf_token": token}).status_code \
            == 404
        assert httpx.post(url + action, data={"outcome": "saved"}, follow_redirects=False).status_code == 303
        assert OutreachStore(data_copy).for_customer(CUSTOMER) == []


def test_the_store_reads_without_creating_and_checks_what_it_writes(tmp_path: Path) -> None:
    log = OutreachStore(tmp_path / "data")
    assert log.for_customer("C1") == [] and log.since(None) == [] and log.contacted_since(dt.datetime.now(dt.UTC)) \
        == set()
    assert not (tmp_path / "data").exists()
    with pytest.raises(OutreachError, match="outcome"):
        log.record("C1", "won", "", "k", "reader", dt.datetime.now(dt.UTC))
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for outcome in OUTCOMES:
        log.record("C1", outcome, " note ", "k", "reader", at)
    entries = OutreachStore(tmp_path / "data").for_customer("C1")
    assert [e.outcome for e in entries] == list(reversed(OUTCOMES)) and entries[0].note == "note"
    assert entries[0].recorded_at == "2026-01-02T03:04:05.000000+00:00"
    assert log.since(at + dt.timedelta(seconds=1)) == [] and len(log.since(at)) == 4
