"""One customer's history for the customer page, read from the files: purchases and service contacts in the
365 days up to the batch's cutoff, the sentiment of their words from the sentiment cache, and the churn
probability in each kept score batch.

Every read is a DuckDB query filtered by the customer id, so only that customer's rows come back, whatever
the size of the logs (Parquet row groups whose id range cannot hold the id are skipped). Input files are read
as they are (a CSV as text, parsed here); times are shown in UTC, as the features count them.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from batch.store import store_dir
from features.sentiment_cache import CACHE_DIR, CACHE_FILE, text_hash
from retain.storage import find_table
from serving.console.copies import SortedCopies, scan

WINDOW_DAYS = 365
BATCH_GLOB = "batch_*.parquet"
_local = threading.local()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection of this thread (connections are not shared between threads)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(config={"threads": 1})
    return con


def _read(table: str, data_dir: Path, customer_id: str, columns: tuple[str, ...],
          copies: SortedCopies | None) -> pd.DataFrame:
    """The customer's rows of an input table (`columns`; absent optional ones as NULL), from the sorted copy
    when it is ready; interactions come with `cached_sentiment` and `cached_hash` from the sentiment cache."""
    path = find_table(data_dir, table)
    extra = ("cached_sentiment", "cached_hash") if table == "interactions" else ()
    if path is None:
        return pd.DataFrame(columns=[*columns, *extra])
    con = _cursor()
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan(path)}", [str(path)]).fetchall()}
    select = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in columns)
    sentiment = Path(data_dir) / CACHE_DIR / CACHE_FILE
    source, parameters = f"SELECT {select} FROM {scan(path)}", [str(path)]
    sources = [path]
    if extra and sentiment.is_file():
        source = (f"SELECT t.*, s.sentiment AS cached_sentiment, CAST(s.text_hash AS VARCHAR) AS cached_hash "
                  f"FROM ({source}) t "
                  "LEFT JOIN read_parquet(?) s ON t.interaction_id = s.interaction_id")
        parameters.append(str(sentiment))
        sources.append(sentiment)
    elif extra:
        source = f"SELECT *, NULL::DOUBLE AS cached_sentiment, NULL::VARCHAR AS cached_hash FROM ({source})"
    copy = copies.ready(table, sources, source + " WHERE customer_id IS NOT NULL", parameters) if copies else None
    if copy is not None:
        return con.execute("SELECT * FROM read_parquet(?) WHERE customer_id = ?", [str(copy), customer_id]).df()
    rows = con.execute(f"SELECT {select} FROM {scan(path)} WHERE customer_id = ?", [str(path), customer_id]).df()
    return _with_cached_sentiment(rows, sentiment) if extra else rows


def _with_cached_sentiment(contacts: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The contacts with their sentiment cache rows (looked up by interaction id; none if unreadable)."""
    contacts = contacts.assign(cached_sentiment=np.nan, cached_hash=None)
    ids = contacts["interaction_id"].dropna().astype(str).tolist()
    if not ids or not path.is_file():
        return contacts
    try:
        cached = _cursor().execute("SELECT interaction_id, sentiment, CAST(text_hash AS VARCHAR) AS text_hash "
                                   "FROM read_parquet(?) "
                                   "WHERE interaction_id IN (SELECT unnest(?))", [str(path), ids]).df()
    except duckdb.Error:  # the cache is an optimisation: unreadable means "no sentiment shown"
        return contacts
    by_id = cached.drop_duplicates("interaction_id").set_index("interaction_id")
    keys = contacts["interaction_id"].astype(str)
    contacts["cached_sentiment"] = keys.map(by_id["sentiment"]).astype(float)
    contacts["cached_hash"] = keys.map(by_id["text_hash"])
    return contacts


def _utc(values: pd.Series) -> pd.Series:
    """Times as naive UTC (text parsed as ISO 8601; an offset converted)."""
    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.tz_convert(None)


def _window(as_of: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # the cutoff day counts whole, as in the features
    return end - pd.Timedelta(days=WINDOW_DAYS), end


@dataclass(frozen=True)
class Timeline:
    purchases: pd.DataFrame  # timestamp, amount, order_id
    contacts: pd.DataFrame  # opened_at, case_id, channel, transfers, resolved, ces, csat, nps, text, sentiment
    start: pd.Timestamp
    end: pd.Timestamp

    def events(self) -> list[dict[str, object]]:
        """Purchases and contacts in one list, newest first, as plain values for the page."""
        out: list[dict[str, object]] = []
        for row in self.purchases.itertuples(index=False):
            out.append({"kind": "purchase", "when": row.timestamp, "amount": _value(row.amount),
                        "order_id": _value(row.order_id)})
        for row in self.contacts.itertuples(index=False):
            out.append({"kind": "contact", "when": row.opened_at, "case_id": _value(row.case_id),
                        "channel": _value(row.channel), "transfers": _value(row.transfers),
                        "resolved": _value(row.resolved), "ces": _value(row.ces), "csat": _value(row.csat),
                        "nps": _value(row.nps), "text": _value(row.text), "sentiment": _value(row.sentiment)})
        return sorted(out, key=lambda e: e["when"], reverse=True)  # type: ignore[arg-type,return-value]


def _value(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and bool(pd.isna(value))) else value


def _bool(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.map({"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False})


def read_timeline(data_dir: Path, customer_id: str, as_of: dt.date,
                  copies: SortedCopies | None = None) -> Timeline:
    start, end = _window(as_of)
    purchases = _read("transactions", data_dir, customer_id, ("customer_id", "timestamp", "amount", "order_id"),
                      copies)
    purchases["timestamp"] = _utc(purchases["timestamp"])
    purchases["amount"] = pd.to_numeric(purchases["amount"], errors="coerce")
    purchases = purchases[(purchases["timestamp"] >= start) & (purchases["timestamp"] < end)]
    columns = ("customer_id", "interaction_id", "opened_at", "case_id", "channel", "transfers", "resolved", "ces",
               "csat", "nps", "text")
    contacts = _read("interactions", data_dir, customer_id, columns, copies)
    contacts["opened_at"] = _utc(contacts["opened_at"])
    contacts = contacts[(contacts["opened_at"] >= start) & (contacts["opened_at"] < end)].copy()
    for name in ("transfers", "ces", "csat", "nps"):
        contacts[name] = pd.to_numeric(contacts[name], errors="coerce").astype("Int64")
    contacts["resolved"] = _bool(contacts["resolved"])
    contacts["sentiment"] = _sentiments(contacts)
    return Timeline(purchases.sort_values("timestamp").reset_index(drop=True),
                    contacts.sort_values("opened_at").reset_index(drop=True), start, end)


def prepare_copies(data_dir: Path, copies: SortedCopies) -> None:
    """Queue the sorted copies the customer page reads (a lookup of no customer asks for each of them)."""
    read_timeline(data_dir, "", dt.date(2000, 1, 1), copies)  # any day: no rows are wanted, only the copies
    probability_history(data_dir, "", copies)


def _sentiments(contacts: pd.DataFrame) -> pd.Series:
    """Each contact's cached sentiment where it was scored from the same text (an edited text is not)."""
    if contacts.empty:
        return pd.Series(np.nan, index=contacts.index, dtype=float)
    hashes = [str(int(h)) for h in text_hash(contacts["text"].astype(object))]  # as the copy holds them: text
    same = contacts["text"].notna() & (contacts["cached_hash"].astype(object).to_numpy() == np.array(hashes))
    return contacts["cached_sentiment"].astype(float).where(same)


def probability_history(data_dir: Path, customer_id: str, copies: SortedCopies | None = None) -> pd.DataFrame:
    """The customer's churn probability in each score batch kept beside the current one, oldest first:
    columns batch_id and churn_probability (a batch file is `batch_<batch id>.parquet`, `batch.store`)."""
    files = sorted(store_dir(data_dir).glob(BATCH_GLOB))
    empty = pd.DataFrame({"batch_id": [], "churn_probability": []})
    if not files:
        return empty
    parts, parameters = [], []
    for path in files:
        parts.append("SELECT customer_id, churn_probability, ? AS batch_id FROM read_parquet(?)")
        parameters += [path.stem.removeprefix("batch_"), str(path)]
    source = " UNION ALL ".join(parts)
    copy = copies.ready("scores", files, f"SELECT * FROM ({source})", parameters) if copies else None
    try:
        if copy is not None:
            found = _cursor().execute("SELECT batch_id, churn_probability FROM read_parquet(?) WHERE customer_id = ?",
                                      [str(copy), customer_id]).df()
        else:
            found = _cursor().execute(f"SELECT batch_id, churn_probability FROM ({source}) WHERE customer_id = ?",
                                      [*parameters, customer_id]).df()
    except duckdb.Error:  # a batch removed while reading (only the last few are kept): show none
        return empty
    return found.sort_values("batch_id").reset_index(drop=True)[["batch_id", "churn_probability"]]
