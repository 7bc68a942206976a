"""`retain api-key` and `retain serve`, run as users run them (the installed entry point, a subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving.auth import hash_key
from tests.serving.conftest import Store

SCRIPT = Path(sys.executable).parent / "retain"
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-c", "from retain.cli import main; main()"]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETAIN_") and k != "MLFLOW_TRACKING_URI"}
    return {**env, "NO_COLOR": "1", "MLFLOW_DISABLE_TELEMETRY": "true", **extra}


def _api_key(role: str, keys_file: Path | None, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    flags = ["--keys-file", str(keys_file)] if keys_file else []
    return subprocess.run([*COMMAND, "api-key", "--role", role, *flags], cwd=tmp_path,
                          env=_environment(**env), capture_output=True, text=True, timeout=120)


def test_api_key_prints_a_key_once_and_stores_its_hash(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    first, second = _api_key("reader", keys_file, tmp_path), _api_key("admin", keys_file, tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    reader, admin = first.stdout.strip(), second.stdout.strip()
    assert len(reader) >= 40 and reader != admin
    stored = json.loads(keys_file.read_text())
    assert stored == {"reader": [hash_key(reader)], "admin": [hash_key(admin)]}
    assert reader not in keys_file.read_text()
    bad = _api_key("owner", keys_file, tmp_path)
    assert bad.returncode == 2 and "--role must be one of reader, admin" in bad.stderr
    assert json.loads(keys_file.read_text()) == stored


@pytest.mark.slow
def test_serve_runs_the_api(store: Store, tmp_path: Path) -> None:
    """As after `make demo`: the data in `data/demo` and the keys in `api_keys.json` under RETAIN_HOME, so
    neither `retain api-key` nor `retain serve` needs a flag for them."""
    home = tmp_path / "home"
    shutil.copytree(store.data_dir, home / "data" / "demo")
    key = _api_key("reader", None, tmp_path, RETAIN_HOME=str(home)).stdout.strip()
    assert (home / "api_keys.json").is_file()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*COMMAND, "serve", "--port", str(port)], cwd=tmp_path, stdout=log,
                              stderr=subprocess.STDOUT,
                              env=_environment(RETAIN_HOME=str(home), RETAIN_MLFLOW_TRACKING_URI=store.tracking_uri))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "retain serve did not get ready"
            time.sleep(0.25)
        customer = store.scores()["customer_id"].iloc[0]
        assert httpx.get(f"{url}/v1/customers/{customer}", headers={"X-API-Key": key}).status_code == 200
        assert httpx.get(f"{url}/v1/customers/{customer}").status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert f"Serving on http://127.0.0.1:{port}" in output
    assert "GET /v1/customers/{customer_id} 200" in output and "GET /v1/customers/{customer_id} 401" in output
    assert key not in output
