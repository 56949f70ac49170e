"""Amazon's meters on single operations, as pure rules: which slot a call may take.

Since April 2026 Amazon allows GET_SALES_AND_TRAFFIC_REPORT to be requested once every 15
minutes and 96 times in 24 hours per application (docs/amazon-formats.md 8.1). The slots
themselves are kept in PostgreSQL by amzinsight/ingest/meter.py; pages read them through
amzinsight/analytics/meter.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Meter:
    name: str
    interval: timedelta
    per_day: int
    day: timedelta = timedelta(days=1)

    def at_speed(self, speed: float) -> Meter:
        """The same meter on a clock `speed` times faster (a sandbox's speed factor)."""
        return Meter(self.name, self.interval / speed, self.per_day, self.day / speed)


SALES_TRAFFIC_METER = Meter("sales_traffic_report", timedelta(minutes=15), 96)


def meter_key(meter: Meter, application: str | None) -> str:
    """The meter and a digest of the LWA application it counts (never the id itself in a table)."""
    digest = hashlib.sha256((application or "").encode()).hexdigest()[:16]
    return f"{meter.name}:{digest}"


def next_slot(meter: Meter, taken: list[datetime], now: datetime) -> datetime:
    """The earliest time at or after now that keeps the interval after every taken slot and at
    most per_day slots in any day (taken: the slots of the last day and later, sorted)."""
    candidate = max([now, *(slot + meter.interval for slot in taken)])
    while True:
        in_day = [slot for slot in taken if slot > candidate - meter.day]
        if len(in_day) < meter.per_day:
            return candidate
        candidate = in_day[-meter.per_day] + meter.day


def meter_interval_label(meter: Meter) -> str:
    """ "15 minutes" (or seconds, for a sandbox's faster clock)."""
    minutes = meter.interval.total_seconds() / 60
    if minutes >= 1 and minutes == int(minutes):
        return f"{int(minutes)} minutes"
    return f"{meter.interval.total_seconds():g} seconds"
