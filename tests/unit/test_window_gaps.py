"""Window planning fills the gaps a stopped first sync or a failed window leaves (fixed dates)."""

from __future__ import annotations

from datetime import date

from amzinsight.ingest.windows import DateWindow, plan_windows, uncovered

MARCH = DateWindow(date(2026, 3, 1), date(2026, 3, 31))


def test_uncovered_is_every_day_no_loaded_window_holds() -> None:
    loaded = [
        DateWindow(date(2026, 3, 20), date(2026, 4, 5)),  # runs past the span
        DateWindow(date(2026, 2, 1), date(2026, 3, 3)),  # starts before it
        DateWindow(date(2026, 3, 10), date(2026, 3, 10)),
        DateWindow(date(2026, 3, 10), date(2026, 3, 12)),  # overlapping
    ]
    assert uncovered(MARCH, loaded) == [
        DateWindow(date(2026, 3, 4), date(2026, 3, 9)),
        DateWindow(date(2026, 3, 13), date(2026, 3, 19)),
    ]
    assert uncovered(MARCH, []) == [MARCH]
    assert uncovered(MARCH, [MARCH]) == []


def test_a_first_sync_stopped_after_its_newest_window_is_resumed() -> None:
    """Newest first: 03-02..03-31 loaded, the older 60 days never ran. The cursor (03-31) alone
    would only re-pull the lookback; the gap is planned too."""
    windows = plan_windows(
        date(2026, 3, 31),
        date(2026, 3, 31),
        max_days=30,
        lookback_days=3,
        initial_days=90,
        loaded=[DateWindow(date(2026, 3, 2), date(2026, 3, 31))],
    )
    assert windows == [
        DateWindow(date(2026, 1, 1), date(2026, 1, 30)),
        DateWindow(date(2026, 1, 31), date(2026, 3, 1)),
        DateWindow(date(2026, 3, 28), date(2026, 3, 31)),
    ]
