"""Customer-sorted copies of the files the customer page reads, so that one customer's rows are a few small
row groups away instead of a scan of the whole log.

A filter `customer_id = ?` on a Parquet file skips only the row groups whose min/max range cannot hold the id;
logs written in time order hold every id in every row group, so each page view would read millions of rows.
A copy sorted by customer id in row groups of `ROW_GROUP` rows lets DuckDB read one or two of them. Copies are
made in the background, once per version of their sources (path, size and modification time make the name),
under `DATA_DIR/.retain-cache/console/`; until a copy is ready, or where the folder cannot be written, readers
use the sources directly, which gives the same rows, only more slowly. The interactions copy carries each
contact's cached sentiment score and text hash (joined from the sentiment cache by interaction id).
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb

from features.sentiment_cache import CACHE_DIR

FOLDER = Path(CACHE_DIR) / "console"
ROW_GROUP = 16_384
KEEP = 2  # copies per kind: the newest and the one before it (a reader may still hold its name)
log = logging.getLogger("retain.console")


def scan(path: Path) -> str:
    """The DuckDB table function reading `path` (parameter `?`): CSV cells as text, Parquet as typed."""
    return "read_csv(?, all_varchar = true, header = true)" if path.suffix == ".csv" else "read_parquet(?)"


def _stamp(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        info = path.stat()
        digest.update(f"{path.resolve()}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


class SortedCopies:
    """Knows which copies are ready and builds missing ones, one at a time, in a background thread."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / FOLDER
        self._pending: set[Path] = set()
        self._failed: set[Path] = set()
        self._jobs: queue.Queue[tuple[Path, str, Sequence[object]]] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def ready(self, kind: str, sources: list[Path], select: str, parameters: Sequence[object]) -> Path | None:
        """The copy of `select` (a query over `sources`, which must exist) if it is built; otherwise None, and
        its build is queued."""
        try:
            target = self.folder / f"{kind}-{_stamp(sources)}.parquet"
        except OSError:  # a source went away meanwhile
            return None
        if target.is_file():
            return target
        with self._lock:
            if target not in self._pending and target not in self._failed:
                self._pending.add(target)
                self._jobs.put((target, select, parameters))
                if self._worker is None or not self._worker.is_alive():
                    self._worker = threading.Thread(target=self._work, name="console-copies", daemon=True)
                    self._worker.start()
        return None

    def _work(self) -> None:
        while True:
            try:
                target, select, parameters = self._jobs.get(timeout=5)
            except queue.Empty:
                return
            try:
                self._build(target, select, parameters)
            except (duckdb.Error, OSError) as error:
                log.warning("console: no sorted copy for %s (%s); pages read the sources", target.name,
                            type(error).__name__)
                with self._lock:
                    self._failed.add(target)
            finally:
                with self._lock:
                    self._pending.discard(target)
                self._jobs.task_done()

    def join(self) -> None:
        """Wait until every queued copy is built (or has failed)."""
        self._jobs.join()

    def _build(self, target: Path, select: str, parameters: Sequence[object]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with duckdb.connect(config={"threads": 1}) as con:
                con.execute(f"COPY ({select} ORDER BY customer_id) TO '{_quoted(tmp)}' "
                            f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})", list(parameters))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        kind = target.name.rsplit("-", 1)[0]
        copies = sorted(self.folder.glob(f"{kind}-*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in copies[KEEP:]:
            old.unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
