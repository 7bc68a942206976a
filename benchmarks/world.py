"""The simulated world the benchmarks run on, and their scratch MLflow settings.

A benchmark's scratch folder `root` holds `all` (the whole world), `train` (its first `--train-customers`, the
champions' training data), `mlflow.db` and `artifacts` (the registry). The project's modules are imported in the
functions: api.py's load process parses the same options and must not pay for pandas.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retain.settings import Settings
    from retain.simulate import SampleData


def add_world_options(parser: argparse.ArgumentParser, customers: int, seed: int = 7,
                      train_customers: int | None = None) -> None:
    """--customers, --train-customers (given a default), --seed and --preset, with the script's defaults."""
    parser.add_argument("--customers", type=int, default=customers)
    if train_customers is not None:
        parser.add_argument("--train-customers", type=int, default=train_customers)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--preset", default="cdnow", choices=("cdnow", "default"),
                        help="simulated world: cdnow (the shape the targets were set on; default) or "
                             "the default world (~4x the transactions per customer)")


def write_world(root: Path, customers: int, seed: int, preset: str,
                train_customers: int | None = None) -> tuple[SampleData, SampleData]:
    """Simulate the world into `root/all` and, given `train_customers`, its first customers into `root/train`;
    print the counts and the time. Returns the world and its training part (the whole world without a subset)."""
    from retain.sample import write_sample
    from retain.simulate import PRESETS, generate

    started = time.perf_counter()
    sample = generate(customers, seed, PRESETS[preset])
    write_sample(sample, root / "all")
    subset = sample
    if train_customers is not None:
        subset = sample.first(train_customers)
        write_sample(subset, root / "train")
    print(f"generated {customers:,} customers ({preset}), {len(sample.transactions):,} transactions, "
          f"{len(sample.interactions):,} interactions in {time.perf_counter() - started:.1f} s", flush=True)
    return sample, subset


def scratch_settings(root: Path) -> Settings:
    """Settings with the MLflow registry in `root` and the data in `root/all`; MLflow's telemetry off for this
    process and its children unless set otherwise (MLflow reads it when first used)."""
    from retain.settings import Settings

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return Settings(mlflow_tracking_uri=f"sqlite:///{root}/mlflow.db", mlflow_artifact_root=root / "artifacts",
                    data_dir=root / "all")
