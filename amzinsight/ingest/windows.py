"""Which date windows a sync asks Amazon for: pure, so it is tested with fixed dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class DateWindow:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def plan_windows(
    cursor: date | None,
    last_day: date,
    max_days: int,
    lookback_days: int,
    initial_days: int,
) -> list[DateWindow]:
    """Windows from just after the cursor (minus the lookback Amazon restates) through last_day.

    Without a cursor (first sync) the history starts `initial_days` before last_day. Each window
    spans at most `max_days`; an explicit `--from/--to` bypasses this and uses split_window.
    """
    if cursor is None:
        start = last_day - timedelta(days=initial_days - 1)
    else:
        start = min(cursor + timedelta(days=1), last_day) - timedelta(days=lookback_days)
    return split_window(DateWindow(start, last_day), max_days)


def split_window(window: DateWindow, max_days: int) -> list[DateWindow]:
    """Consecutive windows of at most max_days covering `window` exactly."""
    if window.start > window.end:
        return []
    step = max(1, max_days)
    windows = []
    start = window.start
    while start <= window.end:
        end = min(window.end, start + timedelta(days=step - 1))
        windows.append(DateWindow(start, end))
        start = end + timedelta(days=1)
    return windows
