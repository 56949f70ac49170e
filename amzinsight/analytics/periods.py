"""Date-range presets shared by every page, computed in the marketplace's local date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from amzinsight.errors import ConfigError

PRESETS = ("Last 7 days", "Last 30 days", "Last 90 days", "Month to date", "Year to date", "Custom")
DEFAULT_PRESET = "Last 30 days"


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def local_today(time_zone: str, now: datetime | None = None) -> date:
    """Today in the marketplace's time zone: Amazon's report dates are local dates."""
    moment = now or datetime.now(ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(time_zone)).date()


def date_range_for(preset: str, today: date, custom: tuple[date, date] | None = None) -> DateRange:
    """The range a preset means on `today`.

    "Last N days" are the N complete days before today (today's figures are still arriving);
    month and year to date include today.
    """
    if preset.startswith("Last ") and preset.endswith(" days"):
        days = int(preset.split()[1])
        end = today - timedelta(days=1)
        return DateRange(end - timedelta(days=days - 1), end)
    if preset == "Month to date":
        return DateRange(today.replace(day=1), today)
    if preset == "Year to date":
        return DateRange(today.replace(month=1, day=1), today)
    if preset == "Custom":
        if custom is None:
            raise ConfigError("A custom date range needs a start and an end date.")
        check_range(*custom)
        return DateRange(*custom)
    raise ConfigError(f"Unknown date range preset {preset!r}: use one of {', '.join(PRESETS)}.")


GRANULARITIES = ("day", "week", "month")
COMPARISONS = ("Previous period", "Same period last year", "No comparison")
DEFAULT_COMPARISON = "Previous period"


def comparison_range(current: DateRange, comparison: str) -> DateRange | None:
    """The range KPI deltas compare against: the same number of days just before, or a year back.

    A year back keeps month and day (29 February falls back to the 28th), so "last year's
    November" is compared with this November whatever the weekday.
    """
    if comparison == "No comparison":
        return None
    if comparison == "Previous period":
        end = current.start - timedelta(days=1)
        return DateRange(end - timedelta(days=current.days - 1), end)
    if comparison == "Same period last year":
        return DateRange(_year_before(current.start), _year_before(current.end))
    raise ConfigError(f"Unknown comparison {comparison!r}: use one of {', '.join(COMPARISONS)}.")


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def check_range(start: date, end: date) -> None:
    """Every query over a range refuses one that ends before it starts, in the same words."""
    if start > end:
        raise ConfigError(f"The range starts ({start}) after it ends ({end}).")


def check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ConfigError(
            f"Unknown granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}."
        )


def period_start(day: date, granularity: str) -> date:
    """The first day of the day, week (Monday) or month `day` falls in, as date_trunc has it."""
    check_granularity(granularity)
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day
