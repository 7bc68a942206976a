"""Benchmark: validate + features + score on embedded DuckDB and on Spark `local[2]`, side by side.

Generates `--customers` customers (Parquet), trains champion models on the first `--train-customers` of them
(DuckDB, a temporary MLflow store), then runs the chain once per engine, each in its own process, as the CLI
runs it: the engine starts (`retain.engine.connect`), reads and checks the three files itself
(`retain.cli.load_checked`: no table passes through pandas), writes the feature table with sentiment from an
empty cache (`features`), and scores every customer (`score`, which reuses the feature table the `features`
stage computed on the same data, as one process running both does). Prints wall time per stage, the
run/DuckDB ratio and the peak resident memory of each run's whole process tree (Python, DuckDB, the Spark JVM
and its Python workers), sampled every 0.2 s.

`--out-of-core` adds a DuckDB run with `duckdb_memory_limit=1GB` (the engine factory's memory limit and spill
folder, `RETAIN_DUCKDB_MEMORY_LIMIT`) and a Spark run with
`spark.driver.memory=1g` (in local mode the driver's heap is the executors' too), and measures what the same
three tables take in pandas: read with `retain.storage.read_raw` in a child process and held together.

`--engines` picks the engines (`duckdb`, `spark`, or both, the default); `--keep DIR` keeps the generated data
and the trained models in DIR and reuses them on a later run with the same `--customers`, `--train-customers`
and `--seed`.

    .venv/bin/python benchmarks/spark.py [--customers 1000000] [--train-customers 20000] [--out-of-core]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from retain.settings import Settings

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.world import scratch_settings, write_world

AS_OF = dt.date(2025, 12, 31)
POLL_SECONDS = 0.2
DUCKDB_MEMORY_LIMIT = "1GB"
SPARK_DRIVER_MEMORY = "1g"
TABLES = ("customers", "transactions", "interactions")
T = TypeVar("T")


def run_chain(data_dir: Path, settings_json: str) -> dict[str, dict[str, float]]:
    """In the child process: the three stages on the configured engine, timed, and this process's peak RSS
    (GB) after each (Python and an embedded DuckDB; not Spark's JVM, a process of its own)."""
    from batch.job import score_all
    from features.build import FeatureConfig
    from features.snapshot import write_snapshot
    from retain.cli import load_checked
    from retain.engine import connect
    from retain.settings import Settings

    settings = Settings.model_validate_json(settings_json)
    times: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def timed(stage: str, step: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = step()
        times[stage] = time.perf_counter() - started
        peaks[stage] = high_water_mark()
        return result

    con = timed("engine start", lambda: connect(settings))
    data = timed("validate", lambda: load_checked(data_dir, None, con=con))
    timed("features", lambda: write_snapshot(data, data_dir, AS_OF, FeatureConfig.from_settings(settings),
                                             data_dir / "features.parquet"))
    timed("score", lambda: score_all(settings, data, data_dir, AS_OF, dt.datetime.now(dt.UTC)))
    return {"times": times, "peaks": peaks}


def high_water_mark() -> float:
    """This process's peak RSS so far, GB: Linux's VmHWM, which starts again at exec (`ru_maxrss` keeps the
    peak of the parent that forked this process)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024 / 1e9  # type: ignore[union-attr]


def pandas_footprint(data_dir: Path) -> dict[str, float]:
    """In the child process: the three tables read into pandas and held together (what an ingest through
    pandas starts from): the frames' own bytes and the process's peak RSS, in GB."""

    from retain.storage import find_table, read_raw

    frames = []
    for name in TABLES:
        path = find_table(data_dir, name)
        assert path is not None, f"{data_dir}: no {name} table"
        frames.append(read_raw(path))
    held = sum(int(frame.memory_usage(deep=True).sum()) for frame in frames)
    return {"frames": held / 1e9, "peak RSS": high_water_mark()}


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (the Spark JVM and its Python workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def in_child(*arguments: str) -> tuple[dict[str, Any], float] | str:
    """Run this script with `arguments` in a child process: the JSON it prints last and the peak RSS (GB) of
    its process tree, or why it failed."""
    command = [sys.executable, __file__, *arguments]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, stdout=out, env=env)
        peak = 0
        while child.poll() is None:
            peak = max(peak, tree_rss(child.pid))
            time.sleep(POLL_SECONDS)
        out.seek(0)
        text = out.read().decode()
    if child.returncode != 0:
        return f"failed (exit {child.returncode}, peak RSS {peak / 1e9:.2f} GB): {text.strip()[-500:]}"
    return json.loads(text.strip().splitlines()[-1]), peak / 1e9


def prepared(root: Path, customers: int, train_customers: int, seed: int) -> Path:
    """`root/all` (the data) and the champions in `root`'s MLflow store, made unless a run with the same
    arguments left them there; returns the MLflow database."""
    from retain.ingest import load
    from training.pipeline import train

    stamp = root / "prepared.json"
    wanted = {"customers": customers, "train_customers": train_customers, "seed": seed}
    database = root / "mlflow.db"
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        print(f"reusing the data and champions in {root}", flush=True)
        return database
    for leftover in (root / "all", root / "train", root / "artifacts"):
        shutil.rmtree(leftover, ignore_errors=True)
    database.unlink(missing_ok=True)
    write_world(root, customers, seed, "default", train_customers)
    started = time.perf_counter()
    train(scratch_settings(root), load(root / "train"), root / "train", AS_OF, None)
    print(f"trained champions on {train_customers:,} customers in {time.perf_counter() - started:.1f} s",
          flush=True)
    stamp.write_text(json.dumps(wanted))
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--engines", default="duckdb,spark", help="Comma-separated: duckdb, spark (default both).")
    parser.add_argument("--out-of-core", action="store_true",
                        help=f"Add DuckDB with memory_limit={DUCKDB_MEMORY_LIMIT} and Spark with "
                             f"spark.driver.memory={SPARK_DRIVER_MEMORY}, and the data's pandas footprint.")
    parser.add_argument("--keep", type=Path, help="Keep the data and champions here, and reuse them.")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--pandas", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_chain(args.child, args.settings)))
        return
    if args.pandas:
        print(json.dumps(pandas_footprint(args.pandas)))
        return
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    if not engines or set(engines) - {"duckdb", "spark"}:
        raise SystemExit(f"--engines takes duckdb, spark or duckdb,spark, not {args.engines!r}")

    with contextlib.ExitStack() as stack:
        if args.keep:
            root = args.keep
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="retain-bench-spark-")))
        prepared(root, args.customers, args.train_customers, args.seed)
        base = scratch_settings(root)
        runs: dict[str, Settings] = {}
        spark = {"engine": "spark", "spark_master": args.master}
        if "duckdb" in engines:
            runs["duckdb"] = base.model_copy(update={"engine": "duckdb"})
        if "spark" in engines:
            runs[f"spark {args.master}"] = base.model_copy(update=spark)
        if args.out_of_core and "duckdb" in engines:
            runs[f"duckdb, limit {DUCKDB_MEMORY_LIMIT}"] = base.model_copy(update={
                "engine": "duckdb", "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT})
        if args.out_of_core and "spark" in engines:
            runs[f"spark {args.master}, driver {SPARK_DRIVER_MEMORY}"] = base.model_copy(update={
                **spark, "spark_conf": {"spark.driver.memory": SPARK_DRIVER_MEMORY}})
        results: dict[str, tuple[dict[str, dict[str, float]], float]] = {}
        for name, settings in runs.items():
            data_dir = root / ("run_" + re.sub(r"[^A-Za-z0-9]+", "_", name))
            shutil.rmtree(data_dir, ignore_errors=True)
            shutil.copytree(root / "all", data_dir)  # each run scores texts from scratch (no shared cache)
            child_settings = settings.model_copy(update={"data_dir": data_dir}).model_dump_json()
            outcome = in_child("--child", str(data_dir), "--settings", child_settings)
            shutil.rmtree(data_dir, ignore_errors=True)
            print(f"{name}: {outcome}", flush=True)
            if not isinstance(outcome, str):
                results[name] = outcome
        footprint = in_child("--pandas", str(root / "all")) if args.out_of_core else None
        if results:
            report(results, args.customers)
        if footprint is not None:
            print(footprint if isinstance(footprint, str) else
                  f"pandas: the three tables held in pandas take {footprint[0]['frames']:.2f} GB "
                  f"(child peak RSS {footprint[0]['peak RSS']:.2f} GB)")
        if not results:
            raise SystemExit("every run failed")


def report(results: dict[str, tuple[dict[str, dict[str, float]], float]], customers: int) -> None:
    names = list(results)
    stages = list(next(iter(results.values()))[0]["times"])
    reference_name = "duckdb" if "duckdb" in results else names[0]
    reference = results[reference_name][0]["times"]
    print(f"\n{customers:,} customers: wall seconds per stage (ratio = this run / {reference_name})")
    print(f"{'stage':<14}" + "".join(f"{name:>30}" for name in names))
    for stage in [*stages, "total"]:
        cells = []
        for name in names:
            times = results[name][0]["times"]
            value = sum(times.values()) if stage == "total" else times[stage]
            base = sum(reference.values()) if stage == "total" else reference[stage]
            ratio = f" ({value / base:.1f}x)" if name != reference_name and base > 0 else ""
            cells.append(f"{value:.1f}{ratio}")
        print(f"{stage:<14}" + "".join(f"{cell:>30}" for cell in cells))
    print(f"{'peak RSS (GB)':<14}" + "".join(f"{results[name][1]:>30.2f}" for name in names))
    print("of the Python process (and DuckDB in it), peak after each stage, GB:")
    for stage in stages:
        print(f"{'  ' + stage:<14}" + "".join(f"{results[name][0]['peaks'][stage]:>30.2f}" for name in names))


if __name__ == "__main__":
    main()
