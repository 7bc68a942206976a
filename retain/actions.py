"""The names of the next best actions, shared by the models (what an action changes in a customer's features)
and the simulator (what it changes in the simulated world), which must not import each other."""

from __future__ import annotations

from typing import Literal

ActionName = Literal["resolve_open_case", "single_owner", "service_recovery"]
ACTION_NAMES: tuple[ActionName, ...] = ("resolve_open_case", "single_owner", "service_recovery")
