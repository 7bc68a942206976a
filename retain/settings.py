"""The one settings object: read from `RETAIN_*` environment variables (and `.env`), overridden by CLI flags.

Built once at the edge (CLI, API factory) and passed down; library code never reads the environment itself.
Local state (the MLflow store and its artifacts, the default data folder) resolves against one root,
`RETAIN_HOME`, never the current directory: a command run from another folder finds the same registry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MEMORY_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
                "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
MEMORY_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(" + "|".join(MEMORY_UNITS) + r")\s*", re.IGNORECASE)
MIN_DUCKDB_MEMORY = 16 * 1000**2
"""A floor against a slip like "1KB": retain's queries need far more (measured: the feature table of 400
simulated customers, with sentiment, ran out of 32MB on two threads, and of 24MB on one)."""


def memory_bytes(size: str) -> int:
    """Bytes in a size as DuckDB writes them ("1GB" = 10^9, "512MiB" = 512 * 2^20); ValueError otherwise."""
    match = MEMORY_SIZE.fullmatch(size)
    if match is None:
        raise ValueError(f"{size!r} is not a memory size: write a number and a unit, like 1GB or 512MiB "
                         f"(units: {', '.join(unit.replace('I', 'i') for unit in MEMORY_UNITS)})")
    return int(float(match[1]) * MEMORY_UNITS[match[2].upper()])


def _duckdb_memory(size: str) -> str:
    if memory_bytes(size) < MIN_DUCKDB_MEMORY:
        raise ValueError(f"{size!r} is too small: retain's queries need at least {MIN_DUCKDB_MEMORY // 1000**2}MB")
    return size.strip()


DuckdbMemory = Annotated[str, AfterValidator(_duckdb_memory)]


class Settings(BaseSettings):
    """Everything a retain deployment can tune, with defaults that run embedded on one machine."""

    model_config = SettingsConfigDict(env_prefix="RETAIN_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=lambda: default_home(),
                       description="Root of local state: relative paths and the default MLflow store resolve here "
                                   "(default: the project folder of a source checkout, else ~/.retain).")
    data_dir: Path = Field(default=Path("data/demo"), description="Folder holding the three input tables.")
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlruns/mlflow.db",
        validation_alias=AliasChoices("RETAIN_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking and registry store (a relative SQLite path is under home); a shared "
                    "server URL works too.",
    )
    mlflow_artifact_root: Path = Field(default=Path("mlruns/artifacts"), description="Artifacts of new experiments.")
    experiment: str = Field(default="retain", description="MLflow experiment for training runs.")
    seed: int = Field(default=42, description="Seed for every random draw (simulator, model training).")

    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="What runs validation, features and scoring: embedded DuckDB or Apache Spark.")
    spark_master: str = Field(default="local[*]",
                              description="Spark master URL (local[N], spark://host:7077, yarn, k8s://...).")
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='More Spark configuration, e.g. {"spark.driver.memory": "4g"} (RETAIN_SPARK_CONF as JSON); '
                    "overrides retain's defaults (retain/spark.py).")
    duckdb_memory_limit: DuckdbMemory | None = Field(
        default=None,
        description="Most memory embedded DuckDB may use, like 1GB or 512MiB (default: DuckDB's own, 80% of RAM); "
                    "past it, DuckDB spills to a temporary folder (under TMPDIR) and goes on.")
    duckdb_threads: int | None = Field(
        default=None, gt=0,
        description="Threads of embedded DuckDB (default: one per core). Each thread holds its own buffers: under a "
                    "tight duckdb_memory_limit, fewer threads let more of the work fit.")
    max_train_rows: int = Field(
        default=2_000_000, gt=0,
        description="Largest churn training set brought to the driver; more rows are sampled down, stratified "
                    "by label (on Spark; the rate is logged in MLflow).")

    feature_windows_days: tuple[int, ...] = Field(default=(30, 90, 365), description="Look-back windows.")
    rfm_time_unit: Literal["D", "W"] = Field(default="D", description="Unit of frequency/recency/T.")
    repeat_contact_days: int = Field(default=7, description="A contact on the same case within this is a repeat.")

    churn_horizon_days: int = Field(default=90, description="No purchase in this many days after the cutoff = churn.")
    training_cutoffs: int = Field(default=4, description="Rolling cutoffs used to build the churn training set.")
    cutoff_step_days: int = Field(default=30, description="Days between rolling training cutoffs.")
    clv_horizon_months: int = Field(default=12, description="Horizon of the CLV figure.")
    monthly_discount_rate: float = Field(default=0.01, ge=0, lt=1, description="Discount rate per month for CLV.")

    retention_recent_days: int = Field(
        default=90, gt=0, description="Retention population: customers who bought in the last this many days "
                                      "(everyone else is tier 'lapsed').")
    retention_min_p_alive: float | None = Field(
        default=None, ge=0, le=1, description="Also in the retention population: P(alive) at least this.")
    high_risk_share: float = Field(default=0.10, gt=0, lt=1,
                                   description="Share of the retention population in tier 'high' (at training).")
    medium_risk_share: float = Field(default=0.20, gt=0, lt=1,
                                     description="Share of the retention population in tier 'medium' (at training).")
    high_risk_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="Fixed churn probability for tier 'high' instead of the share.")
    medium_risk_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="Fixed churn probability for 'medium' instead of the share.")

    api_host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(default=8000, description="Port the API listens on.")
    api_keys_file: Path | None = Field(
        default=Path("api_keys.json"),
        description='JSON file of hashed API keys by role: {"reader": [sha256 hex, ...], "admin": [...]} '
                    "(`retain api-key` writes it; a relative path is under home).",
    )
    api_key_hashes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="More hashed API keys by role, same shape as the file (RETAIN_API_KEY_HASHES as JSON).",
    )
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0,
        description="Largest request body the API accepts (a full 1,000-row /v1/score batch is ~3-4 MB).",
    )
    api_metrics_public: bool = Field(default=True, description="Serve /metrics without an API key.")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the console's session cookies (RETAIN_SESSION_SECRET); when unset, one is generated "
                    "once and kept in `session_secret` beside the keys file (mode 0600).",
    )
    session_max_age_seconds: int = Field(default=8 * 3600, gt=0, description="A console session's lifetime.")
    mlflow_ui_url: str = Field(default="http://127.0.0.1:5000",
                               description="The MLflow UI the console links model runs to (`make mlflow-ui`).")

    @model_validator(mode="after")
    def _resolve_against_home(self) -> Settings:
        """Relative local paths name places under `home`, whatever the current directory."""
        self.home = self.home.expanduser().resolve()
        self.data_dir = self.home / self.data_dir.expanduser()
        self.mlflow_artifact_root = self.home / self.mlflow_artifact_root.expanduser()
        if self.api_keys_file is not None:
            self.api_keys_file = self.home / self.api_keys_file.expanduser()
        prefix = "sqlite:///"
        store = self.mlflow_tracking_uri.removeprefix(prefix)
        if self.mlflow_tracking_uri.startswith(prefix) and not Path(store).is_absolute():
            self.mlflow_tracking_uri = prefix + str(self.home / store)
        return self


def default_home() -> Path:
    """The project folder when running from a source checkout (where `make demo` keeps its state), else
    ~/.retain for an installed package."""
    project = Path(__file__).resolve().parents[1]
    return project if (project / "pyproject.toml").is_file() else Path.home() / ".retain"
