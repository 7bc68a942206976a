"""POST /v1/admin/reload swaps in a new batch atomically: requests running meanwhile never fail.

The load test waits on what the clients have seen (an answer from the old batch, answers after each reload,
one from the new batch), not on sleeps, so a slow machine makes it slower, never flaky."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.serving.conftest import AS_OF, Keys, Store, running_server

WAIT_SECONDS = 120
ANSWERS_BETWEEN_RELOADS = 20  # the clients keep asking while each reload swaps the snapshot


def _new_batch(store: Store, data_dir: Path) -> str:
    from batch.job import score_all
    from retain.ingest import load

    _, info = score_all(store.settings(data_dir=data_dir), load(data_dir), data_dir, AS_OF, dt.datetime.now(dt.UTC))
    return info.batch_id


class Answers:
    """What the clients got, (status, batch id) per request, and a way to wait for what they have seen:
    the test moves on when the answers it needs are in, never after a sleep."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str | None]] = []
        self.changed = threading.Condition()

    def add(self, status: int, batch: str | None) -> None:
        with self.changed:
            self.seen.append((status, batch))
            self.changed.notify_all()

    def wait_for(self, done: Callable[[list[tuple[int, str | None]]], bool], what: str) -> None:
        with self.changed:  # the timeout only turns a hung server into a failure
            assert self.changed.wait_for(lambda: done(self.seen), timeout=WAIT_SECONDS), f"never saw {what}"


def test_reload_under_load_fails_no_request(store: Store, keys: Keys, data_copy: Path) -> None:
    settings = store.settings(data_dir=data_copy, **keys.settings_changes())
    ids = store.scores()["customer_id"].tolist()
    with running_server(settings) as url:
        old = httpx.get(f"{url}/ready").json()["batch"]["batch_id"]
        new = _new_batch(store, data_copy)
        assert new != old
        answers = Answers()
        stop = threading.Event()

        def hammer(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=url, headers={"X-API-Key": keys.reader}, timeout=30) as client:
                while not stop.is_set():
                    try:
                        # quoted as a client must (`..` as %2E%2E, `ACME/42` as ACME%2F42): some ids are awkward
                        path = quote(rng.choice(ids), safe="").replace(".", "%2E")
                        response = client.get(f"/v1/customers/{path}")
                        answers.add(response.status_code, response.json().get("batch_id"))
                    except httpx.HTTPError:
                        answers.add(0, None)  # a failed connection counts as a failed request

        threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        try:
            answers.wait_for(lambda seen: (200, old) in seen, "an answer from the old batch")
            with httpx.Client(base_url=url, headers={"X-API-Key": keys.admin}, timeout=60) as admin:
                reloads = []
                for _ in range(3):
                    before = len(answers.seen)
                    reloads.append(admin.post("/v1/admin/reload"))
                    answers.wait_for(lambda seen, before=before: len(seen) >= before + ANSWERS_BETWEEN_RELOADS,
                                     f"{ANSWERS_BETWEEN_RELOADS} answers after a reload")
            answers.wait_for(lambda seen: (200, new) in seen, "an answer from the new batch")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert [r.status_code for r in reloads] == [200, 200, 200], [r.text for r in reloads]
        assert all(r.json()["batch"]["batch_id"] == new for r in reloads)
        assert {status for status, _ in answers.seen} == {200}, "no request failed during the swaps"
        assert {batch for _, batch in answers.seen} == {old, new}, "requests ran before and after the swap"
        ready = httpx.get(f"{url}/ready").json()
        assert ready["ready"] and ready["batch"]["batch_id"] == new
        after = httpx.get(f"{url}/v1/customers/{ids[0]}", headers={"X-API-Key": keys.reader}).json()
        assert after["batch_id"] == new


def test_failed_reload_keeps_serving_the_old_snapshot(store: Store, keys: Keys, data_copy: Path) -> None:
    settings = store.settings(data_dir=data_copy, **keys.settings_changes())
    with running_server(settings) as url:
        pointer = data_copy / "scores" / "CURRENT.json"
        info = json.loads(pointer.read_text())
        pointer.write_text(json.dumps({**info, "file": "batch_missing.parquet", "batch_id": "broken"}))
        response = httpx.post(f"{url}/v1/admin/reload", headers={"X-API-Key": keys.admin})
        assert response.status_code == 503
        assert response.json()["detail"].startswith(f"reload failed, still serving batch {store.batch_id}")
        ready = httpx.get(f"{url}/ready").json()
        assert ready["ready"] and ready["batch"]["batch_id"] == store.batch_id


def test_not_ready_without_a_batch(store: Store, keys: Keys, tmp_path: Path) -> None:
    """A server over an empty data folder starts, says why it is not ready, and answers 503 for scores."""
    settings = store.settings(data_dir=tmp_path / "empty", **keys.settings_changes())
    with running_server(settings) as url:
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["ready"] is False and body["models"] is not None
        assert any("no score batch yet" in problem for problem in body["problems"])
        assert httpx.get(f"{url}/health").status_code == 200
        response = httpx.get(f"{url}/v1/customers/C0000001", headers={"X-API-Key": keys.reader})
        assert response.status_code == 503 and "no score batch is loaded" in response.json()["detail"]
        scored = httpx.post(f"{url}/v1/score", json={"rows": [{"customer_id": "x"}]},
                            headers={"X-API-Key": keys.reader})
        assert scored.status_code == 200, "on-demand scoring needs only the models"


def test_reload_picks_up_new_keys_and_metrics_can_require_one(store: Store, keys: Keys, tmp_path: Path) -> None:
    from serving.auth import add_key

    keys_file = tmp_path / "keys.json"
    admin = add_key(keys_file, "admin")
    settings = store.settings(api_keys_file=keys_file, api_metrics_public=False)
    with running_server(settings) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/metrics", headers={"X-API-Key": admin}).status_code == 200
        reader = add_key(keys_file, "reader")
        assert httpx.get(f"{url}/metrics", headers={"X-API-Key": reader}).status_code == 401
        assert httpx.post(f"{url}/v1/admin/reload", headers={"X-API-Key": admin}).status_code == 200
        assert httpx.get(f"{url}/metrics", headers={"X-API-Key": reader}).status_code == 200
