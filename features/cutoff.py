"""The point in time features are computed at: `as_of` is a day, and everything up to its end is known.

Every family filters its events through `Cutoff` so that nothing after `as_of` can leak into a feature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir


@dataclass(frozen=True)
class Cutoff:
    """Events with a timestamp before `as_of + 1 day` are known; windows are counted back from there."""

    as_of: dt.date

    @property
    def end(self) -> dt.datetime:
        """Exclusive end of the known past (midnight after `as_of`)."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    def known(self, stamp: ir.TimestampValue) -> ir.BooleanValue:
        """The event happened at or before `as_of`."""
        return stamp < ibis.timestamp(self.end)

    def within(self, stamp: ir.TimestampValue, days: int) -> ir.BooleanValue:
        """The event happened in the last `days` days up to and including `as_of`."""
        return (stamp >= ibis.timestamp(self.end - dt.timedelta(days=days))) & self.known(stamp)

    def between(self, stamp: ir.TimestampValue, newest_days: int, oldest_days: int) -> ir.BooleanValue:
        """The event happened between `oldest_days` and `newest_days` days before the end of `as_of`."""
        return (stamp >= ibis.timestamp(self.end - dt.timedelta(days=oldest_days))) & (
            stamp < ibis.timestamp(self.end - dt.timedelta(days=newest_days)))

    def days_since(self, stamp: ir.TimestampValue) -> ir.IntegerValue:
        """Whole days from the event's day to `as_of`."""
        return ibis.date(self.as_of).delta(stamp.date(), unit="day")
