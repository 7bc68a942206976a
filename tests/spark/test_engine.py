"""Choosing the engine: settings and flags, and clear messages (no stack trace) when Spark cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from retain import spark
from retain.engine import EngineConfig, connect, is_spark
from retain.settings import Settings
from tests.spark.conftest import SPARK, SPARK_TESTS

pytestmark = SPARK_TESTS
PROJECT = Path(__file__).resolve().parents[2]


def _retain(args: list[str], env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess[str]:
    """`retain ARGS` in a fresh interpreter (`prelude` runs first, e.g. to hide pyspark)."""
    code = f"import sys\n{prelude}\nfrom retain.cli import main\nsys.argv = ['retain', *{args!r}]\nmain()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=PROJECT,
                          timeout=300, check=False)


def _env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_settings_read_the_engine_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_ENGINE", "spark")
    monkeypatch.setenv("RETAIN_SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv("RETAIN_SPARK_CONF", '{"spark.driver.memory": "4g"}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert EngineConfig.from_settings(settings) == EngineConfig(
        engine="spark", spark_master="spark://cluster:7077", spark_conf={"spark.driver.memory": "4g"})
    assert Settings(_env_file=None, engine="duckdb").engine == "duckdb"  # type: ignore[call-arg]


def test_one_session_per_process(spark_con: object) -> None:
    assert is_spark(connect(SPARK))
    assert spark.session(SPARK.spark_master, dict(SPARK.spark_conf)) is spark.session(
        SPARK.spark_master, dict(SPARK.spark_conf))
    conf = spark.session(SPARK.spark_master, dict(SPARK.spark_conf)).conf
    assert conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    with pytest.raises(spark.EngineUnavailable, match="already running"):
        spark.session("local[1]")


@pytest.mark.parametrize(("master", "threads"), [
    ("local", 1), ("local[2]", 2), ("local[3, 2]", 3), ("local[*]", os.cpu_count()), ("spark://host:7077", None),
    ("yarn", None), ("k8s://https://host:6443", None), ("locale[2]", None)])
def test_local_threads_are_read_from_the_master(master: str, threads: int | None) -> None:
    assert spark.local_threads(master) == threads


def test_local_mode_shuffles_into_a_few_partitions_per_thread() -> None:
    assert spark.session_settings("local[2]")["spark.sql.shuffle.partitions"] == str(2 * spark.PARTITIONS_PER_THREAD)
    assert "spark.sql.shuffle.partitions" not in spark.session_settings("spark://host:7077")
    assert spark.session_settings("local[2]", {"spark.sql.shuffle.partitions": "7"})[
        "spark.sql.shuffle.partitions"] == "7"


@pytest.mark.parametrize(("threads", "input_bytes", "partitions"), [
    (2, 0, 4), (2, 40 * 2**20, 4), (2, 64 * 2**20, 4), (2, 65 * 2**20, 6), (2, 398_834_193, 24), (3, 0, 6)])
def test_local_shuffle_partitions_grow_with_the_input(threads: int, input_bytes: int, partitions: int) -> None:
    assert spark.shuffle_partitions(threads, input_bytes) == partitions


def test_input_size_is_a_files_length_or_a_folders_total(spark_con: object, tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.parquet").write_bytes(b"x" * 300)
    (tmp_path / "parts" / "b.parquet").write_bytes(b"x" * 200)
    session = spark.session(SPARK.spark_master, dict(SPARK.spark_conf))
    assert spark.input_size(session, str(tmp_path / "parts" / "a.parquet")) == 300
    assert spark.input_size(session, str(tmp_path / "parts")) == 500


def test_shuffle_partitions_the_user_set_are_kept(spark_con: object, tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_bytes(b"x" * 1000)
    session = spark.session(SPARK.spark_master, dict(SPARK.spark_conf))
    assert spark.fit_shuffle_partitions(session, [str(tmp_path / "big.csv")]) is None
    assert session.conf.get(spark.SHUFFLE_PARTITIONS) == SPARK.spark_conf[spark.SHUFFLE_PARTITIONS]


def test_shuffle_partitions_follow_the_input_when_the_user_left_them(spark_con: object, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "transactions.parquet").open("wb") as sparse:
        sparse.truncate(100 * 2**20)  # 100 MiB of length, no data on disk
    session = spark.session(SPARK.spark_master, dict(SPARK.spark_conf))
    monkeypatch.setattr(spark, "_started_with", ("local[2]", ()))  # as started without the tests' own count
    try:
        assert spark.fit_shuffle_partitions(session, [str(tmp_path / "transactions.parquet")]) == 8
        assert session.conf.get(spark.SHUFFLE_PARTITIONS) == "8"
    finally:
        session.conf.set(spark.SHUFFLE_PARTITIONS, SPARK.spark_conf[spark.SHUFFLE_PARTITIONS])


def test_no_spark_warehouse_folder_is_written(spark_con: object, tmp_path: Path) -> None:
    import pandas as pd

    from retain.engine import register_frame

    os.chdir(tmp_path)
    try:
        table = register_frame(connect(SPARK), "probe", pd.DataFrame({"x": [1, None]}, dtype="Int64"))
        assert table.x.isnull().sum().execute() == 1  # a nullable integer survives (Arrow on)
        assert not (tmp_path / "spark-warehouse").exists()
    finally:
        os.chdir(PROJECT)


def test_without_pyspark_the_command_says_how_to_get_it(tmp_path: Path) -> None:
    result = _retain(["validate", str(tmp_path), "--engine", "spark"], _env(),
                     prelude="sys.modules['pyspark'] = None")
    assert result.returncode != 0
    assert "pip install 'retain[spark]'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_without_java_the_command_says_how_to_get_it(tmp_path: Path) -> None:
    result = _retain(["validate", str(tmp_path)], _env(RETAIN_ENGINE="spark", JAVA_HOME=str(tmp_path),
                                                       PATH="/nonexistent"))
    assert result.returncode != 0
    assert "apt-get install -y openjdk-17-jre-headless" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_master_is_named(tmp_path: Path) -> None:
    result = _retain(["validate", str(tmp_path), "--engine", "spark", "--spark-conf", "spark.ui.enabled=false"],
                     _env(RETAIN_SPARK_MASTER="nonsense://nowhere"))
    assert result.returncode != 0
    assert "could not start Spark with master 'nonsense://nowhere'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_spark_conf_flag_is_named(tmp_path: Path) -> None:
    result = _retain(["validate", str(tmp_path), "--engine", "spark", "--spark-conf", "no-equals-sign"], _env())
    assert result.returncode != 0
    assert "--spark-conf takes key=value" in result.stderr
