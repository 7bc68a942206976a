"""Spark local mode for the tests: one session per test process (`retain.spark` keeps it), every Spark test in
one pytest-xdist group (each module's `pytestmark = SPARK_TESTS`; `make test` runs `--dist loadgroup`), so a run
starts one session, not one per worker.

The session is real (pyspark 4.0 with Java 17; `make test` installs both); nothing here is simulated."""

from __future__ import annotations

from typing import Any

import pytest
from ibis.backends import BaseBackend

from retain.engine import EngineConfig, connect

# two local threads and few shuffle partitions: the tests' tables are small, and the machine shares its cores
SPARK = EngineConfig(engine="spark", spark_master="local[2]", spark_conf={"spark.sql.shuffle.partitions": "4"})
SPARK_TESTS = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
SPARK_SETTINGS: dict[str, Any] = {"engine": SPARK.engine, "spark_master": SPARK.spark_master,
                                  "spark_conf": dict(SPARK.spark_conf)}


@pytest.fixture(scope="session")
def duck_con() -> BaseBackend:
    return connect(EngineConfig())
