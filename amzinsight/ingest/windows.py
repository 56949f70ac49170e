"""Which date windows a sync asks Amazon for: pure, so it is tested with fixed dates."""

from __future__ import annotations

from collections.abc import Sequence
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
    loaded: Sequence[DateWindow] | None = None,
) -> list[DateWindow]:
    """Windows from just after the cursor (minus the lookback Amazon restates) through last_day,
    oldest first, and before them every gap in the last `initial_days` that no `loaded` window
    covers (a first sync that was stopped, or a window that failed: the next sync asks again).
    Without `loaded` (None) the cursor alone decides.

    Without a cursor (first sync) the history starts `initial_days` before last_day. Each window
    spans at most `max_days`; an explicit `--from/--to` bypasses this and uses split_window.
    """
    first_day = last_day - timedelta(days=initial_days - 1)
    if cursor is None:
        return split_window(DateWindow(first_day, last_day), max_days)
    start = min(cursor + timedelta(days=1), last_day) - timedelta(days=lookback_days)
    before = DateWindow(first_day, start - timedelta(days=1))
    gaps = [] if loaded is None else uncovered(before, loaded)
    return [
        window
        for span in [*gaps, DateWindow(start, last_day)]
        for window in split_window(span, max_days)
    ]


def uncovered(span: DateWindow, loaded: Sequence[DateWindow]) -> list[DateWindow]:
    """The parts of `span` that no window of `loaded` covers, oldest first."""
    gaps = []
    day = span.start
    for window in sorted(loaded, key=lambda w: w.start):
        if window.end < day:
            continue
        if window.start > span.end:
            break
        if window.start > day:
            gaps.append(DateWindow(day, window.start - timedelta(days=1)))
        day = max(day, window.end + timedelta(days=1))
    if day <= span.end:
        gaps.append(DateWindow(day, span.end))
    return gaps


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
