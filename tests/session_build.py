"""Build an expensive fixture once per test session, shared by every pytest-xdist worker.

The first worker to take the lock builds it and writes its summary; the others wait and read the summary.
A failed build is recorded, so no worker rebuilds on top of a half-written folder.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The folder `name` in the session's temp folder and the JSON summary `build(folder)` returned for it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, common to every worker
    base = root / name
    base.mkdir(exist_ok=True)
    done, failed = base / "summary.json", base / "failed.txt"
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if failed.exists():
                pytest.fail(f"{name} failed to build in another worker: {failed.read_text()}")
            if not done.exists():
                try:
                    summary = build(base)
                except BaseException as error:
                    failed.write_text(f"{type(error).__name__}: {error}")
                    raise
                done.write_text(json.dumps(summary))
            return base, json.loads(done.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
