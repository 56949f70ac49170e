"""When an Amazon Ads day still counts as settling: Amazon restates the last few days of Ads
data (late clicks, attributed orders, invalid-traffic refunds), so their figures are not final.

Settling depends on the report date and the day the data is READ, never on the day a file was
imported: a day stored while still fresh is settled a few days later even if it is never imported
again. Every reader (the bid engine, the Advertising page) decides it with this rule.
"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_SETTLE_DAYS = 3
"""Amazon's Ads data is final about 72 hours after the day ends (AMZ_ADS_SETTLE_DAYS)."""


def settling_from(today: date, settle_days: int) -> date:
    """The first report date still settling on `today` (the marketplace's local date of the read):
    that day and every later one may still change."""
    return today - timedelta(days=settle_days)


def is_settling(report_date: date, today: date, settle_days: int) -> bool:
    """Whether Amazon may still restate `report_date`'s figures as seen on `today`."""
    return report_date >= settling_from(today, settle_days)
