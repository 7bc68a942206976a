"""The models tests read the registered models of the shared training scenario (built once per session)."""

from tests.training.conftest import training_scenario  # noqa: F401 - a fixture, shared with tests/training
