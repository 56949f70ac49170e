"""Window planning on fixed dates."""

from __future__ import annotations

from datetime import date

from amzinsight.ingest.windows import DateWindow, plan_windows, split_window


def test_first_sync_covers_the_initial_history_in_windows_of_max_days() -> None:
    windows = plan_windows(None, date(2026, 3, 31), max_days=30, lookback_days=3, initial_days=90)
    assert windows[0].start == date(2026, 1, 1)
    assert windows[-1].end == date(2026, 3, 31)
    assert [w.days for w in windows] == [30, 30, 30]


def test_later_syncs_repull_the_lookback_days_amazon_restates() -> None:
    windows = plan_windows(
        date(2026, 3, 28), date(2026, 3, 31), max_days=1, lookback_days=3, initial_days=90
    )
    assert [w.start for w in windows] == [
        date(2026, 3, 26),
        date(2026, 3, 27),
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
        date(2026, 3, 31),
    ]


def test_an_up_to_date_cursor_still_repulls_the_lookback() -> None:
    windows = plan_windows(
        date(2026, 3, 31), date(2026, 3, 31), max_days=30, lookback_days=3, initial_days=90
    )
    assert windows == [DateWindow(date(2026, 3, 28), date(2026, 3, 31))]


def test_split_window_is_exact_and_contiguous() -> None:
    parts = split_window(DateWindow(date(2026, 1, 1), date(2026, 2, 14)), 30)
    assert parts == [
        DateWindow(date(2026, 1, 1), date(2026, 1, 30)),
        DateWindow(date(2026, 1, 31), date(2026, 2, 14)),
    ]
    assert split_window(DateWindow(date(2026, 1, 2), date(2026, 1, 1)), 30) == []
