"""Fixtures shared by every test package: small, seeded, generated data; nothing read from the network."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from retain.openmp import wait_passively
from retain.simulate import SampleData, generate

wait_passively()  # before a test module imports XGBoost itself
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Local state (MLflow store, keys file, demo data) of a test run never touches the developer's checkout.
os.environ["RETAIN_HOME"] = tempfile.mkdtemp(prefix="retain-home-")
atexit.register(shutil.rmtree, os.environ["RETAIN_HOME"], ignore_errors=True)

RunMain = Callable[..., tuple[int, str, str]]  # (exit code, stdout, stderr)
SMALL_SAMPLE_CUSTOMERS = 600
SMALL_SAMPLE_SEED = 20250601


@pytest.fixture(scope="session")
def small_sample() -> SampleData:
    """A small simulated data set (seeded); treat it as read-only, copy a frame before changing it."""
    return generate(SMALL_SAMPLE_CUSTOMERS, SMALL_SAMPLE_SEED)


@pytest.fixture(scope="session", autouse=True)
def _spark_first(request: pytest.FixtureRequest) -> None:
    """In a run that holds Spark tests (`make test` runs them in a pytest process of their own), start the
    JVM before anything else: launching it forks this process, and a fork once XGBoost, DuckDB and server
    threads exist crashed the child (a segfault in the gateway launch)."""
    if any(item.get_closest_marker("spark") for item in request.session.items):
        request.getfixturevalue("spark_con")


@pytest.fixture(scope="session")
def spark_con():  # noqa: ANN201 - an ibis pyspark backend; pyspark is imported only when a test asks for it
    """The run's one local Spark session (`retain.spark` keeps one per process) as an ibis backend."""
    pytest.importorskip("pyspark")
    from retain.engine import connect
    from tests.spark.conftest import SPARK

    return connect(SPARK)


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             tmp_path: Path) -> RunMain:
    """`run_main(*args, **env)` calls retain.cli.main in this process: (exit code, stdout, stderr).

    Runs in tmp_path (so no stray .env is read) with RETAIN_* variables cleared; whitespace in the output
    is collapsed, so assertions need not follow rich's table layout.
    """
    from retain import cli

    for key in list(os.environ):
        if key.startswith("RETAIN_") or key == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # captured output is not a terminal: rich folds nothing (retain.terminal)

    def run(*args: str | Path, **env: str) -> tuple[int, str, str]:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["retain", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:  # any other exception would be a traceback
            cli.main()
        out, err = capsys.readouterr()
        code = exit_info.value.code
        return (code if isinstance(code, int) else 0 if code is None else 1), " ".join(out.split()), " ".join(
            err.split())

    return run
