"""Date-range presets on fixed dates, and the marketplace's local 'today'."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from amzinsight.analytics.periods import (
    DateRange,
    comparison_range,
    date_range_for,
    local_today,
    period_start,
)
from amzinsight.errors import ConfigError

TODAY = date(2026, 3, 15)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("Last 7 days", DateRange(date(2026, 3, 8), date(2026, 3, 14))),
        ("Last 30 days", DateRange(date(2026, 2, 13), date(2026, 3, 14))),
        ("Last 90 days", DateRange(date(2025, 12, 15), date(2026, 3, 14))),
        ("Month to date", DateRange(date(2026, 3, 1), date(2026, 3, 15))),
        ("Year to date", DateRange(date(2026, 1, 1), date(2026, 3, 15))),
    ],
)
def test_presets(preset: str, expected: DateRange) -> None:
    result = date_range_for(preset, TODAY)
    assert result == expected
    if preset.startswith("Last"):
        assert result.days == int(preset.split()[1])


def test_custom_range_is_validated() -> None:
    assert date_range_for("Custom", TODAY, (date(2026, 1, 2), date(2026, 1, 2))).days == 1
    with pytest.raises(ConfigError, match="starts"):
        date_range_for("Custom", TODAY, (date(2026, 1, 3), date(2026, 1, 2)))
    with pytest.raises(ConfigError):
        date_range_for("Custom", TODAY)
    with pytest.raises(ConfigError, match="Unknown"):
        date_range_for("Last fortnight", TODAY)


def test_local_today_follows_the_marketplace_time_zone() -> None:
    # 05:00 UTC on 1 March is still 28 February in Los Angeles, but 1 March in Berlin and Tokyo.
    moment = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert local_today("America/Los_Angeles", moment) == date(2026, 2, 28)
    assert local_today("Europe/Berlin", moment) == date(2026, 3, 1)
    assert local_today("Asia/Tokyo", moment) == date(2026, 3, 1)


def test_comparison_ranges() -> None:
    march = DateRange(date(2026, 3, 1), date(2026, 3, 31))
    assert comparison_range(march, "Previous period") == DateRange(
        date(2026, 1, 29), date(2026, 2, 28)
    )
    assert comparison_range(march, "Same period last year") == DateRange(
        date(2025, 3, 1), date(2025, 3, 31)
    )
    assert comparison_range(march, "No comparison") is None
    leap = DateRange(date(2028, 2, 29), date(2028, 2, 29))
    assert comparison_range(leap, "Same period last year") == DateRange(
        date(2027, 2, 28), date(2027, 2, 28)
    )
    with pytest.raises(ConfigError, match="Unknown comparison"):
        comparison_range(march, "Last decade")


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [("day", date(2026, 3, 12)), ("week", date(2026, 3, 9)), ("month", date(2026, 3, 1))],
)
def test_period_start(granularity: str, expected: date) -> None:
    assert period_start(date(2026, 3, 12), granularity) == expected  # a Thursday
    with pytest.raises(ConfigError):
        period_start(date(2026, 3, 12), "quarter")
