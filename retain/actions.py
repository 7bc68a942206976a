"""The names of the retention actions, defined once: the models say what each does to a customer's features
(`models.actions`), the simulator what it does in the world (`retain.replay`)."""

from __future__ import annotations

ACTION_NAMES = ("resolve_open_case", "single_owner", "service_recovery")
