"""The one Spark session of a process: started on first use with the settings retain needs, then reused.

What it sets, and why (each is a trap met on Spark 4.0 with ibis 12):
- Arrow on, with no silent fallback: without it, frames made from pandas lose nullable integer columns (all
  null) and turn missing strings into `net.razorvine.pickle...` strings;
- session time zone UTC: timestamps are naive UTC everywhere in retain;
- `PYSPARK_PYTHON` (and the driver's) = this interpreter: otherwise the Python workers run the system `python3`,
  which lacks retain's dependencies;
- a throw-away warehouse folder: retain never writes managed tables (views over files or memtables), and no
  `./spark-warehouse` appears in the current directory;
- quiet logs (errors only, `log4j2.properties` beside this module; no console progress bars): a command prints
  its own messages;
- in local mode, shuffle partitions = `PARTITIONS_PER_THREAD` x the local threads, not Spark's 200, which is
  sized for a cluster: every shuffle of a small job then ran 200 tasks on two threads (validation and features
  at 20,000 customers ran over a thousand tasks, mostly empty); on a cluster Spark's own default stays. Once the
  input files are known, `fit_shuffle_partitions` raises that count with the data (`INPUT_BYTES_PER_PARTITION`):
  4 partitions of 1,000,000 customers' tables ran a 4g heap out while sorting (AQE's size-based coalescing
  instead ran 100,000 customers 4.4x slower, 492 s vs 111 s).
Any `spark_conf` entry overrides these defaults.

Without pyspark or without Java, `session` raises `EngineUnavailable` saying which is missing and how to get it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from retain.errors import RetainError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PYSPARK_HINT = "pip install 'retain[spark]'"
JAVA_HINT = "apt-get install -y openjdk-17-jre-headless (or set JAVA_HOME to a Java 17 installation)"
DEFAULTS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    # Spark's own default, 1g, is also the whole heap of local mode's executors: with shuffles sized by the data
    # it finishes 1,000,000 customers (463.9 s; 4g: 413.7 s), but it had run out at 100,000 before that
    "spark.driver.memory": "4g",
}

PARTITIONS_PER_THREAD = 2
INPUT_BYTES_PER_PARTITION = 16 * 2**20  # of the input files as stored (compressed Parquet, or CSV)
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")

_session: SparkSession | None = None
_started_with: tuple[str, tuple[tuple[str, str], ...]] | None = None


class EngineUnavailable(RetainError):
    """The chosen engine cannot run here (a missing package, no Java, a master that does not answer)."""


def java_executable() -> str | None:
    """The `java` Spark will start: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailable(f"--engine spark needs pyspark, which is not installed: {PYSPARK_HINT}") from None


def require_java() -> None:
    if java_executable() is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") \
            else "no `java` on PATH"
        raise EngineUnavailable(f"--engine spark needs Java 17 ({where}): {JAVA_HINT}")


def session(master: str = "local[*]", conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's Spark session, started on the first call; later calls get the same one (and must ask for
    the same master and configuration: a second, different session in one process is refused)."""
    global _session, _started_with
    wanted = (master, tuple(sorted((conf or {}).items())))
    if _session is not None:
        if wanted != _started_with:
            raise EngineUnavailable(f"a Spark session with master {_started_with[0] if _started_with else '?'} "
                                    f"is already running in this process; cannot start one with {master}")
        return _session
    require_pyspark()
    require_java()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="retain-spark-warehouse-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    settings = session_settings(master, conf, warehouse)
    builder = SparkSession.builder.master(master).appName("retain")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        started = builder.getOrCreate()
    except Exception as error:  # a bad master URL or conf value: the JVM's message, without its stack trace
        shutil.rmtree(warehouse, ignore_errors=True)
        raise EngineUnavailable(f"could not start Spark with master {master!r}: {_first_line(error)}") from None
    _quiet_python_logs()
    _session, _started_with = started, wanted
    return started


def session_settings(master: str, conf: Mapping[str, str] | None = None,
                     warehouse: str | None = None) -> dict[str, Any]:
    """The configuration a session starts with: retain's defaults, then `conf`. `warehouse` is the session's
    throw-away warehouse folder (removed when the process exits)."""
    threads = local_threads(master)
    partitions = {SHUFFLE_PARTITIONS: str(PARTITIONS_PER_THREAD * threads)} if threads else {}
    return {**DEFAULTS, **partitions,
            **({"spark.sql.warehouse.dir": warehouse} if warehouse else {}),
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}",
            **(conf or {})}


def shuffle_partitions(threads: int, input_bytes: int) -> int:
    """Local mode's shuffle partitions for input files of `input_bytes`: `PARTITIONS_PER_THREAD` per thread, or
    one per `INPUT_BYTES_PER_PARTITION` when that is more, in whole rounds of the threads."""
    rounds = max(PARTITIONS_PER_THREAD, math.ceil(input_bytes / INPUT_BYTES_PER_PARTITION / threads))
    return rounds * threads


def fit_shuffle_partitions(session: SparkSession, uris: list[str]) -> int | None:
    """Size the session's shuffle partitions by the input files at `uris` (`shuffle_partitions`), in local mode
    and unless the user set them; the count set, or None when left alone."""
    if _started_with is None:
        return None
    master, conf = _started_with
    threads = local_threads(master)
    if threads is None or SHUFFLE_PARTITIONS in dict(conf):
        return None
    partitions = shuffle_partitions(threads, sum(input_size(session, uri) for uri in uris))
    session.conf.set(SHUFFLE_PARTITIONS, str(partitions))
    return partitions


def stop() -> None:
    """Stop the process's session (tests and benchmarks that switch configuration)."""
    global _session, _started_with
    if _session is not None:
        _session.stop()
    _session, _started_with = None, None


def local_threads(master: str) -> int | None:
    """How many threads a local master runs (`local`, `local[N]`, `local[*]`, `local[N, F]`); None otherwise."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:\s*,\s*\d+)?\])?", master.strip())
    if found is None:
        return None
    if found.group(1) is None:
        return 1
    if found.group(1) == "*":
        return os.cpu_count() or 1
    return max(int(found.group(1)), 1)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:500]


def _quiet_python_logs() -> None:
    """PySpark logs every failed query as JSON with the JVM's stack trace before raising it; retain reports
    errors itself."""
    from pyspark.logger import PySparkLogger

    PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    logging.getLogger("py4j").setLevel(logging.ERROR)


def literal_path(path: Path | str) -> str:
    """`path` for Spark's readers, which expand glob characters: a folder named `run[2]` is not a pattern."""
    return re.sub(r"([\[\]{}*?\\])", r"\\\1", str(path))


class Status(NamedTuple):
    """What a URI names, as Hadoop's file system for its scheme sees it."""

    is_dir: bool
    length: int


def status(session: SparkSession, uri: str) -> Status | None:
    """Whether `uri` names a folder or a file (and its length), None if nothing is there. Asked of Hadoop's
    `FileSystem` through the JVM, so any scheme Spark reads works (hdfs://, s3a://, file://, ...); an unknown
    scheme or an unreachable host is an `EngineUnavailable` with Hadoop's own message."""
    with _hadoop(session, uri) as (system, path):
        if not system.exists(path):
            return None
        found = system.getFileStatus(path)
        return Status(bool(found.isDirectory()), int(found.getLen()))


def input_size(session: SparkSession, uri: str) -> int:
    """Bytes stored at `uri`: a file's length, or everything under a folder (Hadoop's content summary)."""
    with _hadoop(session, uri) as (system, path):
        return int(system.getContentSummary(path).getLength())


@contextlib.contextmanager
def _hadoop(session: SparkSession, uri: str) -> Iterator[tuple[Any, Any]]:
    """Hadoop's file system for `uri` and its path, through the JVM; any failure in the block is an
    `EngineUnavailable` with Java's own message."""
    jvm: Any = session._jvm
    try:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        yield path.getFileSystem(session._jsc.hadoopConfiguration()), path  # type: ignore[attr-defined]
    except Exception as error:
        raise EngineUnavailable(f"{uri}: Spark cannot reach it: {_java_message(error)}") from None


def _java_message(error: BaseException) -> str:
    """The Java exception's own message (`java.io.IOException: No FileSystem for scheme ...`), not py4j's
    `An error occurred while calling o42.exists`."""
    java = getattr(error, "java_exception", None)
    return str(java.toString()) if java is not None else _first_line(error)
