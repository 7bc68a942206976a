"""The outreach log: what agents did about a customer, kept in SQLite under the data directory.

One row per recorded outcome, with the customer id, outcome, optional note, the name and role of the key that
recorded it and the time (UTC, ISO 8601 with microseconds, so text order is time order). The database runs in
WAL mode and each write is one transaction, so a recorded outcome survives a crash, a restart and a reload (the
log is not part of the score snapshot). Reading a log that was never written creates nothing: a read-only data
folder can still be served.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OUTCOMES = ("contacted", "saved", "not_reachable", "declined")
MAX_NOTE_LENGTH = 2000
FILE = "outreach.sqlite"
COLUMNS = ("customer_id", "outcome", "note", "key_name", "key_role", "recorded_at")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outreach (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    key_name TEXT NOT NULL,
    key_role TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outreach_customer ON outreach (customer_id, recorded_at);
CREATE INDEX IF NOT EXISTS outreach_time ON outreach (recorded_at);
"""


class OutreachError(ValueError):
    """An outcome that cannot be recorded as given (the message says why)."""


@dataclass(frozen=True)
class Outreach:
    customer_id: str
    outcome: str
    note: str
    key_name: str
    key_role: str
    recorded_at: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def timestamp(moment: dt.datetime) -> str:
    """The stored form of a time: UTC, microseconds, `+00:00` (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


class OutreachStore:
    """The log in `<data_dir>/outreach.sqlite`; safe to share between threads (a connection per call)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE
        self._created = False
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as connection:
            yield connection

    def _ensure(self) -> None:
        with self._lock:
            if self._created:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SCHEMA)
            self._created = True

    def record(self, customer_id: str, outcome: str, note: str, key_name: str, key_role: str,
               at: dt.datetime) -> Outreach:
        """Store one outcome (one transaction, durable when this returns)."""
        if outcome not in OUTCOMES:
            raise OutreachError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
        note = note.strip()
        if len(note) > MAX_NOTE_LENGTH:
            raise OutreachError(f"note: {len(note):,} characters; at most {MAX_NOTE_LENGTH:,}")
        entry = Outreach(customer_id, outcome, note, key_name, key_role, timestamp(at))
        self._ensure()
        with self._connect() as connection:
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(f"INSERT INTO outreach ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                                   [getattr(entry, c) for c in COLUMNS])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return entry

    def _select(self, where: str, parameters: list[object], order: str) -> list[Outreach]:
        if not self.path.is_file():
            return []
        with self._connect() as connection:
            try:
                rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM outreach WHERE {where} "
                                          f"ORDER BY recorded_at {order}, id {order}", parameters).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return []
                raise
        return [Outreach(*row) for row in rows]

    def for_customer(self, customer_id: str) -> list[Outreach]:
        """One customer's outcomes, newest first."""
        return self._select("customer_id = ?", [customer_id], "DESC")

    def since(self, moment: dt.datetime | None) -> list[Outreach]:
        """Every outcome recorded at or after `moment` (all when None), oldest first: a CRM export."""
        if moment is None:
            return self._select("1 = 1", [], "ASC")
        return self._select("recorded_at >= ?", [timestamp(moment)], "ASC")

    def contacted_since(self, moment: dt.datetime) -> set[str]:
        """The ids of customers with any outcome recorded at or after `moment`."""
        if not self.path.is_file():
            return set()
        with self._connect() as connection:
            try:
                rows = connection.execute("SELECT DISTINCT customer_id FROM outreach WHERE recorded_at >= ?",
                                          [timestamp(moment)]).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return set()
                raise
        return {row[0] for row in rows}
