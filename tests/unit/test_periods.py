"""Date-range presets on fixed dates, and the marketplace's local 'today'."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from amzinsight.errors import ConfigError
from amzinsight.rules.periods import (
    DateRange,
    Periods,
    comparison_range,
    date_range_for,
    format_range,
    local_today,
    period_start,
    reported_periods,
)

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


def test_month_to_date_compares_the_same_days_of_the_previous_month() -> None:
    december = DateRange(date(2025, 12, 1), date(2025, 12, 2))
    assert comparison_range(december, "Previous period", "Month to date") == DateRange(
        date(2025, 11, 1), date(2025, 11, 2)
    )
    # 31 March against February, capped at its end: 28 days, or 29 in a leap year.
    march = DateRange(date(2026, 3, 1), date(2026, 3, 31))
    assert comparison_range(march, "Previous period", "Month to date") == DateRange(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    leap = DateRange(date(2028, 3, 1), date(2028, 3, 30))
    assert comparison_range(leap, "Previous period", "Month to date") == DateRange(
        date(2028, 2, 1), date(2028, 2, 29)
    )
    january = DateRange(date(2026, 1, 1), date(2026, 1, 31))
    assert comparison_range(january, "Previous period", "Month to date") == DateRange(
        date(2025, 12, 1), date(2025, 12, 31)
    )
    # Without the preset (a custom 1-31 March) the previous period is the 31 days before.
    assert comparison_range(march, "Previous period").days == 31


def test_year_to_date_compares_the_same_dates_last_year() -> None:
    ytd = DateRange(date(2026, 1, 1), date(2026, 3, 15))
    expected = DateRange(date(2025, 1, 1), date(2025, 3, 15))
    assert comparison_range(ytd, "Previous period", "Year to date") == expected
    assert comparison_range(ytd, "Same period last year", "Year to date") == expected


def test_a_day_amazon_has_not_reported_is_left_out_of_both_periods() -> None:
    # 3 December: today has no sales and traffic report yet, 2 December has.
    chosen = date_range_for("Month to date", date(2025, 12, 3))
    periods = reported_periods(
        chosen, "Month to date", "Previous period", date(2025, 9, 1), date(2025, 12, 2)
    )
    assert periods.current == DateRange(date(2025, 12, 1), date(2025, 12, 2))
    assert periods.comparison == DateRange(date(2025, 11, 1), date(2025, 11, 2))
    assert periods.unreported == DateRange(date(2025, 12, 3), date(2025, 12, 3))
    assert periods.notes == ("03 Dec 2025 not reported yet: left out of both periods.",)

    # Two days missing at the end of the last 30 days: 28 days against the 28 before them.
    last_30 = date_range_for("Last 30 days", date(2025, 12, 3))
    periods = reported_periods(
        last_30, "Last 30 days", "Previous period", date(2025, 1, 1), date(2025, 11, 30)
    )
    assert periods.current == DateRange(date(2025, 11, 3), date(2025, 11, 30))
    assert periods.comparison == DateRange(date(2025, 10, 6), date(2025, 11, 2))
    assert periods.notes == (
        "01 Dec 2025 - 02 Dec 2025 not reported yet: left out of both periods.",
    )

    without = reported_periods(
        last_30, "Last 30 days", "No comparison", date(2025, 1, 1), date(2025, 11, 30)
    )
    assert without.comparison is None
    assert without.notes == ("01 Dec 2025 - 02 Dec 2025 not reported yet: left out of the range.",)


def test_both_notes_when_today_is_missing_and_last_year_has_no_data() -> None:
    chosen = date_range_for("Month to date", date(2025, 12, 3))
    periods = reported_periods(
        chosen, "Month to date", "Same period last year", date(2025, 10, 1), date(2025, 12, 2)
    )
    assert periods.current == DateRange(date(2025, 12, 1), date(2025, 12, 2))
    assert periods.comparison is None
    assert periods.notes == (
        "03 Dec 2025 not reported yet: left out of the range.",
        "No data for 01 Dec 2024 - 02 Dec 2024 to compare with.",
    )


def test_a_range_with_no_reported_day_has_nothing_to_compare() -> None:
    first_of_month = date_range_for("Month to date", date(2025, 12, 1))
    periods = reported_periods(
        first_of_month, "Month to date", "Previous period", date(2025, 9, 1), date(2025, 11, 30)
    )
    assert periods.current == first_of_month
    assert periods.comparison is None
    assert periods.notes == ("01 Dec 2025 not reported by Amazon yet: no data to show.",)


def test_a_comparison_without_data_is_none_and_says_why() -> None:
    last_30 = DateRange(date(2025, 12, 2), date(2025, 12, 31))
    # The store's data starts on 1 December: last year and the previous 30 days have none.
    for mode, empty in (
        ("Same period last year", "02 Dec 2024 - 31 Dec 2024"),
        ("Previous period", "02 Nov 2025 - 01 Dec 2025"),
    ):
        periods = reported_periods(last_30, "Custom", mode, date(2025, 12, 2), date(2026, 1, 5))
        assert periods.current == last_30
        assert periods.comparison is None
        assert periods.notes == (f"No data for {empty} to compare with.",)
    # Data from 15 November covers only part of the previous 30 days: no half-empty delta.
    partial = reported_periods(
        last_30, "Custom", "Previous period", date(2025, 11, 15), date(2026, 1, 5)
    )
    assert partial.comparison is None
    assert partial.notes == (
        "Data starts 15 Nov 2025: 02 Nov 2025 - 01 Dec 2025 is only partly covered, "
        "so no change is shown.",
    )
    covered = reported_periods(
        last_30, "Custom", "Previous period", date(2025, 11, 2), date(2026, 1, 5)
    )
    assert covered.comparison == DateRange(date(2025, 11, 2), date(2025, 12, 1))
    assert covered.notes == ()


def test_without_any_reported_day_the_ranges_stay_as_chosen() -> None:
    chosen = date_range_for("Year to date", TODAY)
    periods = reported_periods(chosen, "Year to date", "Previous period", None, None)
    assert periods == Periods(chosen, DateRange(date(2025, 1, 1), date(2025, 3, 15)), None)


def test_format_range() -> None:
    assert format_range(DateRange(date(2025, 11, 2), date(2025, 12, 1))) == (
        "02 Nov 2025 - 01 Dec 2025"
    )
    assert format_range(DateRange(date(2025, 12, 3), date(2025, 12, 3))) == "03 Dec 2025"
