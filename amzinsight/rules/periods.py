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


def comparison_range(
    current: DateRange, comparison: str, preset: str | None = None
) -> DateRange | None:
    """The range KPI deltas compare against, aligned like with like.

    "Previous period" is the same number of days just before, except for month to date (the same
    days of the previous month, capped at its end: 1-31 March against 1-28 February) and year to
    date (the same dates last year). A year back keeps month and day (29 February falls back to
    the 28th), so "last year's November" is compared with this November whatever the weekday.
    """
    if comparison == "No comparison":
        return None
    if comparison == "Previous period":
        if preset == "Month to date":
            return DateRange(_month_before(current.start), _month_before(current.end))
        if preset == "Year to date":
            return DateRange(_year_before(current.start), _year_before(current.end))
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


def _month_before(day: date) -> date:
    """The same day of the month before, or that month's last day when it is shorter."""
    last_of_previous = day.replace(day=1) - timedelta(days=1)
    return last_of_previous.replace(day=min(day.day, last_of_previous.day))


def format_range(span: DateRange) -> str:
    """`02 Nov 2025 - 01 Dec 2025`, or one date for a one-day range, as the sidebar writes it."""
    if span.start == span.end:
        return f"{span.start:%d %b %Y}"
    return f"{span.start:%d %b %Y} - {span.end:%d %b %Y}"


@dataclass(frozen=True)
class Periods:
    """What the KPIs cover and compare with, once Amazon's reporting lag is taken into account."""

    current: DateRange  # the chosen range less the trailing days Amazon has not reported yet
    comparison: DateRange | None  # None: no comparison chosen, or nothing fair to compare with
    unreported: DateRange | None  # trailing days of the chosen range left out of both periods
    notes: tuple[str, ...] = ()  # one sentence per adjustment, for the sidebar and the KPI tiles


def reported_periods(
    chosen: DateRange,
    preset: str,
    comparison: str,
    first_reported: date | None,
    last_reported: date | None,
) -> Periods:
    """Align the chosen range and its comparison with the days Amazon has reported.

    Days after the last reported one are left out of both periods (today's figures would
    otherwise compare a partial day with a full one); a comparison period that starts before the
    first reported day has no fair figures, so none is given and a note says why. Without any
    reported day there is nothing to align with: the ranges stay as chosen.
    """
    if last_reported is None:
        return Periods(chosen, comparison_range(chosen, comparison, preset), None)
    notes = []
    unreported = None
    current = chosen
    if chosen.end > last_reported:
        unreported = DateRange(max(chosen.start, last_reported + timedelta(days=1)), chosen.end)
        if unreported.start == chosen.start:  # not one day of the range is reported yet
            notes.append(f"{format_range(unreported)} not reported by Amazon yet: no data to show.")
            return Periods(chosen, None, unreported, tuple(notes))
        current = DateRange(chosen.start, last_reported)
    against = comparison_range(current, comparison, preset)
    missing = None
    if against is not None and first_reported is not None and against.start < first_reported:
        if against.end < first_reported:
            missing = f"No data for {format_range(against)} to compare with."
        else:
            missing = (
                f"Data starts {first_reported:%d %b %Y}: {format_range(against)} is only partly "
                "covered, so no change is shown."
            )
        against = None
    if unreported is not None:
        where = "both periods" if against is not None else "the range"
        notes.append(f"{format_range(unreported)} not reported yet: left out of {where}.")
    if missing:
        notes.append(missing)
    return Periods(current, against, unreported, tuple(notes))


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
