"""Hand-made simulated customers for the world and replay tests: each kind in many copies, so the effect of an
action on its future can be measured without luck deciding it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from retain.simulate import SimulationParams

AS_OF = dt.date(2025, 6, 30)
END = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)  # the cutoff day counts in full
KINDS = ("open", "quiet", "over", "recent_resolved", "dead")


def _day(days_before_end: float) -> pd.Timestamp:
    return END - pd.Timedelta(days=days_before_end)


def hand_made(copies: int, params: SimulationParams | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(truth, transactions, interactions) for `copies` customers of each kind:

    - open: bought 6 days before the cutoff, case opened 5 days before, two unresolved contacts, the latest 3 days
      before (an ongoing open case);
    - quiet: bought 6 days before, no case ever;
    - over: bought 50 days before, a case with one unresolved contact 40 days before (open, but over);
    - recent_resolved: bought 12 days before, a case with one transfer resolved on its second contact 10 days
      before;
    - dead: like open, but dropped out 2 days before the cutoff.
    """
    params = params or SimulationParams()
    truth, transactions, contacts = [], [], []
    for kind in KINDS:
        for copy in range(copies):
            customer = f"{kind}-{copy:05d}"
            truth.append({"customer_id": customer, "purchase_rate": 0.08, "dropout_probability": 0.05,
                          "spend_scale": 0.4, "temper": 0.0, "case_propensity": 1.0, "service_friction": 0.3,
                          "dropout_at": _day(2) if kind == "dead" else pd.NaT, "hazard_multiplier": 1.0})
            bought = {"open": 6, "quiet": 6, "over": 50, "recent_resolved": 12, "dead": 6}[kind]
            transactions.append({"customer_id": customer, "timestamp": _day(bought), "amount": 20.0})
            case = f"K-{customer}"
            if kind in ("open", "dead"):
                contacts += [_contact(customer, case, 5, resolved=False, transfers=1, channel="phone"),
                             _contact(customer, case, 3, resolved=False, transfers=2, channel="email")]
            elif kind == "over":
                contacts.append(_contact(customer, case, 40, resolved=False, transfers=0, channel="chat"))
            elif kind == "recent_resolved":
                contacts += [_contact(customer, case, 11, resolved=False, transfers=1, channel="chat"),
                             _contact(customer, case, 10, resolved=True, transfers=0, channel="chat")]
    frame = pd.DataFrame(truth)
    frame.attrs["simulation"] = params.model_dump_json()
    interactions = pd.DataFrame(contacts)
    interactions["interaction_id"] = [f"I{i}" for i in range(len(interactions))]
    return frame, pd.DataFrame(transactions), interactions


def _contact(customer: str, case: str, days_before_end: float, resolved: bool, transfers: int,
             channel: str) -> dict[str, object]:
    opened = _day(days_before_end)
    return {"customer_id": customer, "case_id": case, "opened_at": opened,
            "closed_at": opened + pd.Timedelta(minutes=10), "channel": channel, "resolved": resolved,
            "transfers": transfers}
