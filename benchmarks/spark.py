"""Benchmark: validate + features + score on embedded DuckDB and on Spark `local[2]`, side by side.

Generates `--customers` customers, trains champion models on the first `--train-customers` of them (DuckDB, a
temporary MLflow store), then runs the chain once per engine, each in its own process: `validate` (the data
contract check), `features` (the feature table with sentiment, written as Parquet) and `score` (the batch).
Prints wall time per stage, the Spark/DuckDB ratio and the peak resident memory of each run's whole process
tree (Python, DuckDB, the Spark JVM and its Python workers), sampled every 0.2 s.

`--out-of-core` adds a run with `spark.driver.memory=1g`. Today's ingest still reads every table into pandas on
the driver before either engine starts (issue 14, item 2): until engine-side validation lands, that run shows
how far Spark gets with a 1 GB driver heap, not an out-of-core chain.

    .venv/bin/python benchmarks/spark.py [--customers 1000000] [--train-customers 20000] [--out-of-core]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and benchmarks/features.py would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

AS_OF = dt.date(2025, 12, 31)
POLL_SECONDS = 0.2


def run_chain(data_dir: Path, settings_json: str) -> dict[str, float]:
    """In the child process: the three stages on the configured engine, timed."""
    from batch.job import score_all
    from features.build import FeatureConfig
    from features.snapshot import write_snapshot
    from retain.engine import EngineConfig, connect
    from retain.ingest import load
    from retain.settings import Settings

    settings = Settings.model_validate_json(settings_json)
    times: dict[str, float] = {}
    started = time.perf_counter()
    connect(settings)
    times["engine start"] = time.perf_counter() - started
    started = time.perf_counter()
    data = load(data_dir)
    times["validate"] = time.perf_counter() - started
    started = time.perf_counter()
    write_snapshot(data, data_dir, AS_OF, FeatureConfig.from_settings(settings), data_dir / "features.parquet",
                   engine=EngineConfig.from_settings(settings))
    times["features"] = time.perf_counter() - started
    started = time.perf_counter()
    score_all(settings, data, data_dir, AS_OF, dt.datetime.now(dt.UTC))
    times["score"] = time.perf_counter() - started
    return times


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


def measured(data_dir: Path, settings_json: str) -> tuple[dict[str, float], float] | str:
    """Run the chain in a child process: its stage times and the peak RSS (GB) of its process tree, or why it
    failed."""
    command = [sys.executable, __file__, "--child", str(data_dir), "--settings", settings_json]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--out-of-core", action="store_true", help="Add a run with spark.driver.memory=1g.")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.child:
        print(json.dumps(run_chain(args.child, args.settings)))
        return

    import shutil

    from retain.ingest import load
    from retain.sample import write_sample
    from retain.settings import Settings
    from retain.simulate import generate
    from training.pipeline import train

    with tempfile.TemporaryDirectory(prefix="retain-bench-spark-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        sample = generate(args.customers, args.seed)
        write_sample(sample, root / "all")
        subset = sample.first(args.train_customers)
        write_sample(subset, root / "train")
        print(f"generated {args.customers:,} customers, {len(sample.transactions):,} transactions, "
              f"{len(sample.interactions):,} interactions in {time.perf_counter() - started:.1f} s", flush=True)
        del sample, subset
        base = Settings(mlflow_tracking_uri=f"sqlite:///{root}/mlflow.db", mlflow_artifact_root=root / "artifacts",
                        data_dir=root / "all")
        started = time.perf_counter()
        train(base, load(root / "train"), root / "train", AS_OF, None)
        print(f"trained champions on {args.train_customers:,} customers in {time.perf_counter() - started:.1f} s",
              flush=True)
        runs = {"duckdb": base.model_copy(update={"engine": "duckdb"}),
                f"spark {args.master}": base.model_copy(update={"engine": "spark", "spark_master": args.master})}
        if args.out_of_core:
            runs[f"spark {args.master}, driver 1g"] = base.model_copy(update={
                "engine": "spark", "spark_master": args.master, "spark_conf": {"spark.driver.memory": "1g"}})
        results: dict[str, tuple[dict[str, float], float]] = {}
        for name, settings in runs.items():
            data_dir = root / re.sub(r"[^A-Za-z0-9]+", "_", name)
            shutil.copytree(root / "all", data_dir)  # each run scores texts from scratch (no shared cache)
            outcome = measured(data_dir, settings.model_copy(update={"data_dir": data_dir}).model_dump_json())
            print(f"{name}: {outcome}", flush=True)
            if isinstance(outcome, str):
                if not results:
                    raise SystemExit(outcome)
                continue
            results[name] = outcome
        report(results, args.customers)


def report(results: dict[str, tuple[dict[str, float], float]], customers: int) -> None:
    names = list(results)
    stages = list(next(iter(results.values()))[0])
    print(f"\n{customers:,} customers: wall seconds per stage (ratio = this run / duckdb)")
    print(f"{'stage':<14}" + "".join(f"{name:>30}" for name in names))
    duck = results[names[0]][0]
    for stage in [*stages, "total"]:
        cells = []
        for name in names:
            times = results[name][0]
            value = sum(times.values()) if stage == "total" else times[stage]
            reference = sum(duck.values()) if stage == "total" else duck[stage]
            ratio = f" ({value / reference:.1f}x)" if name != names[0] and reference > 0 else ""
            cells.append(f"{value:.1f}{ratio}")
        print(f"{stage:<14}" + "".join(f"{cell:>30}" for cell in cells))
    print(f"{'peak RSS (GB)':<14}" + "".join(f"{results[name][1]:>30.2f}" for name in names))


if __name__ == "__main__":
    main()
