"""Champions load by pinned version: the version a caller reports is the one whose model it holds, even when
another process promotes a different version while it loads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models import registry
from tests.training.conftest import TrainingScenario


@pytest.fixture()
def own_registry(training_scenario: TrainingScenario, tmp_path: Path) -> Any:
    """Settings on a copy of the scenario's registry (its artifacts stay where they are, only read): aliases
    can move here without touching the store other tests read."""
    shutil.copy(Path(training_scenario.tracking_uri.removeprefix("sqlite:///")), tmp_path / "mlflow.db")
    return training_scenario.settings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")


def _probabilities(model: Any, scenario: TrainingScenario) -> np.ndarray:
    return np.asarray(model.predict_proba(pd.read_parquet(scenario.test_rows_path)))


def test_a_promotion_while_loading_changes_neither_model_nor_version(
        own_registry: Any, training_scenario: TrainingScenario, monkeypatch: pytest.MonkeyPatch) -> None:
    client = registry.configure(own_registry)
    read_alias = registry.champion_version
    before = {name: read_alias(client, name) for name in (registry.CHURN_MODEL, registry.CLV_MODEL)}
    assert before[registry.CHURN_MODEL] != "1"

    def read_then_someone_promotes_version_1(client: Any, name: str) -> str | None:
        version = read_alias(client, name)
        client.set_registered_model_alias(name, registry.CHAMPION, "1")
        return version

    monkeypatch.setattr(registry, "champion_version", read_then_someone_promotes_version_1)
    champions = registry.load_champions(own_registry)

    assert read_alias(client, registry.CHURN_MODEL) == "1"  # the alias did move meanwhile
    assert (champions.churn_version, champions.clv_version) == (before[registry.CHURN_MODEL],
                                                                before[registry.CLV_MODEL])
    held = _probabilities(champions.churn, training_scenario)
    reported = _probabilities(registry.load_churn_version(client, champions.churn_version), training_scenario)
    promoted = _probabilities(registry.load_churn_version(client, "1"), training_scenario)
    np.testing.assert_array_equal(held, reported)
    assert not np.allclose(held, promoted)  # version 1 is a different model: the check can tell them apart


def test_no_champion_is_a_clear_error(tmp_path: Path, training_scenario: TrainingScenario) -> None:
    from retain.errors import RetainError

    empty = training_scenario.settings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(RetainError, match="no champion for retain-churn, retain-clv in .*run `retain train` first"):
        registry.load_champions(empty)
