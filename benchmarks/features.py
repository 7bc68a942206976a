"""Benchmark: point-in-time features on DuckDB (ibis) at 1,000,000 simulated customers.

1. Generate sample data (`retain.simulate.generate`) and write it as Parquet (`retain.sample.write_sample`).
2. RFM: `features.rfm.rfm_features` on DuckDB over the Parquet file (`con.read_parquet`), executed to pandas,
   unit "D", windows (30, 90, 365), against `lifetimes.utils.summary_data_from_transaction_data` on the same
   transactions in pandas (same process). frequency/recency/T/monetary_value must agree to 1e-9.
   Target: ours at least 20x faster. Ours is timed from a fresh connection (connect + read_parquet + build
   the expression + compile + execute: "cold") and again on that connection ("warm"); the very first query
   of the process, which also pays ibis' lazy imports, is printed but not used. Each is the best of
   `--repeat` runs (the machine may be shared), as is the baseline: the lifetimes call alone, on a frame
   already in memory and already cut at the cutoff. Ours reads Parquet and also computes
   days_since_last_purchase and the windowed counts/spend. The verdict is given for cold and warm.
   The "engine floor" is the cheapest query that still groups every transaction by customer.
3. The whole feature table without sentiment (`features.build.build_features`, `FeatureConfig()`), written
   atomically to Parquet with `features.io.write_features`. Target: under 60 s.
4. Peak resident memory of the process (ru_maxrss: includes data generation and the pandas baseline).
   Target: under 8 GiB.

Wall times depend on what else runs on the machine: the load average is printed, and CPU seconds beside them.

    .venv/bin/python benchmarks/features.py --customers 100000
    .venv/bin/python benchmarks/features.py                       # 1,000,000 customers, a few minutes
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Run as a file, this folder is sys.path[0], where this file would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # lifetimes' Pandas4Warning on import
    from lifetimes.utils import summary_data_from_transaction_data

from ibis.backends import BaseBackend

from benchmarks.world import add_world_options
from features import io
from features.build import FeatureConfig, build_features
from features.cutoff import Cutoff
from features.rfm import RFM_COLUMNS, TimeUnit, rfm_features
from retain.sample import write_sample
from retain.simulate import PRESETS, generate

WINDOWS = (30, 90, 365)
UNIT: TimeUnit = "D"
TOLERANCE = 1e-9
SPEED_TARGET = 20.0
BUILD_TARGET_S = 60.0
MEMORY_TARGET_GIB = 8.0


def load() -> str:
    return "load average " + "/".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def cpu_seconds() -> float:
    """CPU time of this process (all DuckDB threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours_rfm(con: BaseBackend, path: Path, as_of: dt.date) -> tuple[pd.DataFrame, ir.Table]:
    """rfm_features over the Parquet file, executed to pandas."""
    transactions = con.read_parquet(path)
    expr = rfm_features(transactions, Cutoff(as_of), WINDOWS, UNIT)
    return expr.to_pandas(), expr


class Timed:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Timed:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.3f} s ({self.cpu:.2f} CPU s)"


def best(runs: list[Timed]) -> Timed:
    return min(runs, key=lambda run: run.wall)


def walls(runs: list[Timed]) -> str:
    return ", ".join(f"{run.wall:.3f}" for run in runs) + " s"


def timed_ours(path: Path, as_of: dt.date, threads: int | None,
               repeat: int) -> tuple[list[Timed], list[Timed], pd.DataFrame, ir.Table, BaseBackend]:
    """`repeat` times: cold from a fresh connection (connect + read_parquet + build + compile + run), then warm,
    the same again on that connection. Returns the timings, the last result, expression and connection."""
    colds, warms = [], []
    for _ in range(repeat):
        with Timed() as cold:
            con = io.connect(threads=threads)
            ours_rfm(con, path, as_of)
        with Timed() as warm:
            frame, expr = ours_rfm(con, path, as_of)
        colds.append(cold)
        warms.append(warm)
    return colds, warms, frame, expr, con


def floor(con: BaseBackend, path: Path, as_of: dt.date, repeat: int) -> Timed:
    """The cheapest query that still groups every known transaction by customer (a count per customer_id):
    no RFM formulation on this engine can beat it."""
    quoted = str(path).replace("'", "''")
    sql = (f"SELECT customer_id, count(*) FROM read_parquet('{quoted}') "
           f"WHERE timestamp < TIMESTAMP '{Cutoff(as_of).end.isoformat(sep=' ')}' GROUP BY 1")
    runs = []
    for _ in range(repeat):
        with Timed() as run:
            con.con.sql(sql).to_arrow_table()
        runs.append(run)
    return best(runs)


def breakdown(con: BaseBackend, path: Path, as_of: dt.date) -> str:
    """Where a warm run's time goes: building and compiling the expression, DuckDB, Arrow to pandas."""
    with Timed() as build:
        expr = rfm_features(con.read_parquet(path), Cutoff(as_of), WINDOWS, UNIT)
        sql = ibis.to_sql(expr, dialect="duckdb")
    with Timed() as engine:
        table = con.con.sql(sql).to_arrow_table()
    with Timed() as convert:
        table.to_pandas()
    return f"read_parquet + build + compile {build}; DuckDB to Arrow {engine}; Arrow to pandas {convert}"


def profile(con: BaseBackend, expr: ir.Table, share: float = 0.03) -> str:
    """DuckDB's EXPLAIN ANALYZE of the compiled RFM query: the operators taking at least `share` of the
    summed operator time (operator time is summed over threads)."""
    sql = ibis.to_sql(expr, dialect="duckdb")
    plan = json.loads(con.raw_sql(f"EXPLAIN (ANALYZE, FORMAT json) {sql}").fetchall()[0][1])
    operators: list[tuple[float, str]] = []

    def walk(node: dict, depth: int) -> None:
        info = node.get("extra_info", {})
        detail = info.get("Groups") or info.get("Projections") or info.get("Conditions") or ""
        if node["name"] == "WINDOW" or node["name"] == "HASH_GROUP_BY":
            detail = f"{info.get('Groups', '')} {info.get('Projections') or info.get('Aggregates', '')}"
        label = f"{'.' * depth}{node['name']} rows={node.get('intermediate_rows', 0):,} {str(detail)[:110]}"
        operators.append((float(node.get("timing", 0.0)), label))
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in plan["operator"]:
        walk(node, 0)
    total = sum(t for t, _ in operators) or 1.0
    query = plan["query"]
    lines = [f"query {query['total_time']:.3f} s wall, {query['cpu_time']:.3f} s CPU; "
             f"operators >= {share:.0%} of the summed operator time ({total:.3f} s):"]
    lines += [f"  {t:7.3f} s {t / total:4.0%}  {label}" for t, label in operators if t >= share * total]
    return "\n".join(lines)


def duckdb_threads(con: BaseBackend) -> int:
    return int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0])


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[bool, dict[str, float]]:
    """Same customers, and the largest absolute difference per RFM column."""
    mine = ours.set_index("customer_id").sort_index()
    other = theirs.sort_index()
    other.index = other.index.astype(mine.index.dtype)
    same_customers = mine.index.equals(other.index)
    diffs = {}
    for column in RFM_COLUMNS:
        a = mine[column].to_numpy(dtype=float)
        b = other[column].reindex(mine.index).to_numpy(dtype=float)
        diffs[column] = float(np.nanmax(np.abs(a - b))) if np.isfinite(a - b).all() else float("inf")
    return same_customers, diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser, customers=1_000_000, seed=42)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the workdir (data and features)")
    parser.add_argument("--threads", type=int, default=0,
                        help="DuckDB threads for the main runs (0 = DuckDB's default, one per core)")
    parser.add_argument("--thread-sweep", type=int, nargs="*", default=[1, 2],
                        help="also time the RFM query with these DuckDB thread counts (none to skip)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each RFM measurement; the best is reported (the machine may be busy)")
    parser.add_argument("--no-profile", action="store_true", help="skip EXPLAIN ANALYZE of the RFM query")
    args = parser.parse_args()
    threads = args.threads or None

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="retain-bench-features-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{args.customers:,} customers, seed {args.seed}, workdir {workdir}; {os.cpu_count()} cores; "
          f"{load()}")
    try:
        # 1. data ------------------------------------------------------------------------------------------
        with Timed() as generated:
            sample = generate(args.customers, args.seed, PRESETS[args.preset])
        with Timed() as written:
            write_sample(sample, workdir)
        rows = {name: len(getattr(sample, name)) for name in ("customers", "transactions", "interactions")}
        tx_path = workdir / "transactions.parquet"
        data_end = sample.transactions["timestamp"].max().date()
        as_of = data_end - dt.timedelta(days=91)
        transactions = sample.transactions[["customer_id", "timestamp", "amount"]].copy()
        del sample
        gc.collect()
        generation_peak = peak_gib()
        print(f"generated in {generated.wall:.1f} s, written as Parquet in {written.wall:.1f} s: "
              f"{rows['customers']:,} customers, {rows['transactions']:,} transactions, "
              f"{rows['interactions']:,} interactions; last purchase {data_end}, as_of {as_of}; "
              f"peak RSS so far {generation_peak:.2f} GiB")

        # 2. RFM: ours vs lifetimes -------------------------------------------------------------------------
        print(f"\nRFM (unit {UNIT}, windows {WINDOWS}), executed to pandas; {load()}")
        with Timed() as first:  # the first ibis/DuckDB query of the process also pays ibis' lazy imports
            ours_rfm(io.connect(threads), tx_path, as_of)
        colds, warms, ours, expr, con = timed_ours(tx_path, as_of, threads, args.repeat)
        cold, warm = best(colds), best(warms)
        used_threads = duckdb_threads(con)
        print(f"ours  rfm_features, DuckDB {used_threads} threads, Parquet -> pandas "
              f"({len(ours):,} customers x {ours.shape[1]} columns), best of {args.repeat}:")
        print(f"      first query of the process (incl. ibis' lazy imports) {first}")
        print(f"      cold (fresh connection + read_parquet + build + compile + run) {cold}; all: {walls(colds)}")
        print(f"      warm (same connection, built and compiled again) {warm}; all: {walls(warms)}")
        print(f"      warm breakdown: {breakdown(con, tx_path, as_of)}")

        with Timed() as cut:
            known = transactions[transactions["timestamp"] < pd.Timestamp(Cutoff(as_of).end)]
        baselines = []
        for _ in range(args.repeat):
            with Timed() as run:
                theirs = summary_data_from_transaction_data(
                    known, "customer_id", "timestamp", monetary_value_col="amount",
                    observation_period_end=pd.Timestamp(as_of), freq=UNIT)
            baselines.append(run)
        baseline = best(baselines)
        print(f"lifetimes summary_data_from_transaction_data on {len(known):,} in-memory transactions, best of "
              f"{args.repeat}: {baseline}; all: {walls(baselines)} (the pandas cut at the cutoff before it, "
              f"{cut.wall:.3f} s, not counted)")
        same_customers, diffs = compare(ours, theirs)
        worst = max(diffs.values())
        equal = same_customers and worst < TOLERANCE
        print("max abs difference: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
              + f"; same customers: {same_customers}")
        ratio_cold, ratio_warm = baseline.wall / cold.wall, baseline.wall / warm.wall
        ratio_cpu = baseline.cpu / warm.cpu
        print(f"speed-up (lifetimes / ours, wall): {ratio_cold:.1f}x cold, {ratio_warm:.1f}x warm; "
              f"CPU seconds: {ratio_cpu:.1f}x warm")
        lowest = floor(con, tx_path, as_of, args.repeat)
        print(f"engine floor (SELECT customer_id, count(*) ... GROUP BY 1 over the same rows, to Arrow): {lowest}"
              f" -> at most {baseline.wall / lowest.wall:.1f}x for any RFM query on this engine and data")
        if not args.no_profile:
            print("EXPLAIN ANALYZE of the compiled RFM query (warm):\n" + profile(con, expr))
        del con, expr, ours, theirs, known, transactions
        gc.collect()

        sweep: dict[int, tuple[Timed, Timed]] = {}
        for n in args.thread_sweep:
            colds_n, warms_n, *_ = timed_ours(tx_path, as_of, n, args.repeat)
            cold_n, warm_n = best(colds_n), best(warms_n)
            sweep[n] = (cold_n, warm_n)
            print(f"ours with SET threads TO {n}, best of {args.repeat}: cold {cold_n}, warm {warm_n} "
                  f"({baseline.wall / cold_n.wall:.1f}x / {baseline.wall / warm_n.wall:.1f}x)")
            gc.collect()

        # 3. the whole feature table ------------------------------------------------------------------------
        print(f"\nfeature table without sentiment; {load()}")
        out = io.default_output(workdir, as_of)
        with Timed() as build:
            con = io.connect(threads)
            customers, transactions, interactions = (
                con.read_parquet(workdir / f"{name}.parquet")
                for name in ("customers", "transactions", "interactions"))
            feature_table = build_features(customers, transactions, interactions, as_of, FeatureConfig())
            io.write_features(con, feature_table, out)
        meta = pq.read_metadata(out)
        print(f"build_features + write_features (Parquet views -> Parquet, atomic, fresh connection): "
              f"{build}; {meta.num_rows:,} rows x {meta.num_columns} columns, "
              f"{out.stat().st_size / 2**20:.1f} MiB")
        del con, customers, transactions, interactions, feature_table
        gc.collect()

        # 4. memory ------------------------------------------------------------------------------------------
        peak = peak_gib()
        print(f"\npeak RSS {peak:.2f} GiB (whole process: includes generating the data, "
              f"{generation_peak:.2f} GiB at the end of generation, and the pandas baseline)")

        print("\n=== summary ===")
        print(f"customers {rows['customers']:,}; transactions {rows['transactions']:,}; "
              f"interactions {rows['interactions']:,}; as_of {as_of}; DuckDB threads {used_threads}; "
              f"{os.cpu_count()} cores; {load()}")
        print(f"data: generate {generated.wall:.1f} s, write Parquet {written.wall:.1f} s")
        print(f"RFM equal to lifetimes (< {TOLERANCE:g}): max abs diff {worst:.1e}, same customers "
              f"{same_customers} -> {verdict(equal)}")
        print(f"RFM ours cold {cold}, warm {warm}; lifetimes {baseline} (best of {args.repeat} each); "
              f"engine floor {lowest.wall:.3f} s ({baseline.wall / lowest.wall:.1f}x)")
        print(f"RFM speed-up >= {SPEED_TARGET:g}x: cold {ratio_cold:.1f}x -> "
              f"{verdict(ratio_cold >= SPEED_TARGET)}; warm {ratio_warm:.1f}x -> "
              f"{verdict(ratio_warm >= SPEED_TARGET)} (CPU seconds, warm: {ratio_cpu:.1f}x)")
        for n, (c, w) in sweep.items():
            print(f"  threads {n}: cold {c.wall:.3f} s ({baseline.wall / c.wall:.1f}x), "
                  f"warm {w.wall:.3f} s ({baseline.wall / w.wall:.1f}x)")
        print(f"feature build {build.wall:.2f} s ({build.cpu:.1f} CPU s), {meta.num_rows:,} rows x "
              f"{meta.num_columns} columns -> {verdict(build.wall < BUILD_TARGET_S)} "
              f"(< {BUILD_TARGET_S:g} s)")
        print(f"peak RSS {peak:.2f} GiB incl. data generation -> {verdict(peak < MEMORY_TARGET_GIB)} "
              f"(< {MEMORY_TARGET_GIB:g} GiB)")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
