"""Writing simulated sample data to a folder: every file atomically, truth beside the inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from retain.location import Location, local_dir
from retain.simulate import SampleData
from retain.storage import write_table

TRUTH_FILE = "truth.parquet"


def write_sample(sample: SampleData, out: Path, table_format: Literal["parquet", "csv"] = "parquet") -> list[Path]:
    """Write the three input tables (Parquet or CSV) and any `truth.parquet`; returns the files written."""
    out = Path(out)
    written = [
        write_table(frame, out / f"{name}.{table_format}")
        for name, frame in (("customers", sample.customers), ("transactions", sample.transactions),
                            ("interactions", sample.interactions))
    ]
    if sample.truth is not None:
        written.append(write_table(sample.truth, out / TRUTH_FILE))
    else:
        (out / TRUTH_FILE).unlink(missing_ok=True)
    for name in ("customers", "transactions", "interactions"):
        other = out / f"{name}.{'csv' if table_format == 'parquet' else 'parquet'}"
        other.unlink(missing_ok=True)
    return written


def read_truth(data_dir: Location) -> pd.DataFrame | None:
    """The ground truth next to simulated data, or None for real data (or data at a URI: real data)."""
    local = local_dir(data_dir)
    if local is None:
        return None
    path = local / TRUTH_FILE
    return pd.read_parquet(path) if path.is_file() else None
