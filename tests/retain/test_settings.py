"""Settings come from RETAIN_* variables (and .env), with MLFLOW_TRACKING_URI as an alias."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from retain.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RETAIN_* or MLFLOW_TRACKING_URI from the outside, and a working folder without a .env file."""
    for key in list(os.environ):
        if key.upper().startswith("RETAIN_") or key.upper() == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()

    assert settings.seed == 42
    assert settings.churn_horizon_days == 90
    project = Path(__file__).resolve().parents[2]
    assert settings.home == project  # a source checkout: its own folder, not the current directory
    assert settings.data_dir == project / "data" / "demo"
    assert settings.mlflow_tracking_uri == f"sqlite:///{project}/mlruns/mlflow.db"
    assert settings.mlflow_artifact_root == project / "mlruns" / "artifacts"
    assert settings.api_keys_file == project / "api_keys.json"  # `retain api-key` and `retain serve` agree


def test_local_state_resolves_against_retain_home_not_the_current_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RETAIN_MLFLOW_TRACKING_URI", "sqlite:///store/registry.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    settings = Settings()

    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path}/home/store/registry.db"
    assert settings.mlflow_artifact_root == tmp_path / "home" / "mlruns" / "artifacts"
    assert settings.data_dir == tmp_path / "home" / "data" / "demo"
    assert settings.api_keys_file == tmp_path / "home" / "api_keys.json"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_SEED", "7")
    monkeypatch.setenv("RETAIN_CHURN_HORIZON_DAYS", "30")
    monkeypatch.setenv("RETAIN_DATA_DIR", "/srv/data")

    settings = Settings()

    assert settings.seed == 7
    assert settings.churn_horizon_days == 30
    assert settings.data_dir == Path("/srv/data")


def test_unprefixed_names_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEED", "7")

    assert Settings().seed == 42


def test_mlflow_tracking_uri_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")

    assert Settings().mlflow_tracking_uri == "http://mlflow.example:5000"


def test_prefixed_tracking_uri_works_and_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_MLFLOW_TRACKING_URI", "sqlite:////srv/retain.db")
    assert Settings().mlflow_tracking_uri == "sqlite:////srv/retain.db"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/other.db")
    assert Settings().mlflow_tracking_uri == "sqlite:////srv/retain.db"


def test_dotenv_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RETAIN_SEED=9\nRETAIN_CLV_HORIZON_MONTHS=6\n")

    assert Settings().seed == 9
    assert Settings().clv_horizon_months == 6

    monkeypatch.setenv("RETAIN_SEED", "11")
    assert Settings().seed == 11


@pytest.mark.parametrize(("name", "value"), [("RETAIN_SEED", "abc"), ("RETAIN_MONTHLY_DISCOUNT_RATE", "1.5"),
                                             ("RETAIN_HIGH_RISK_THRESHOLD", "0")])
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as error:
        Settings()
    assert name.removeprefix("RETAIN_").lower() in str(error.value)
