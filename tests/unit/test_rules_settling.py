"""The settling rule: the last settle_days days before the read's today (and today) settle."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from amzinsight.rules.settling import DEFAULT_SETTLE_DAYS, is_settling, settling_from

TODAY = date(2026, 3, 16)


@pytest.mark.parametrize(
    ("settle_days", "first"),
    [(0, TODAY), (1, date(2026, 3, 15)), (3, date(2026, 3, 13)), (31, date(2026, 2, 13))],
)
def test_settling_starts_settle_days_before_today(settle_days: int, first: date) -> None:
    assert settling_from(TODAY, settle_days) == first


def test_a_day_settles_as_today_moves_on() -> None:
    day = date(2026, 3, 8)
    reads = [day + timedelta(days=n) for n in range(6)]
    assert [is_settling(day, today, 3) for today in reads] == [True, True, True, True, False, False]


def test_the_default_is_three_days() -> None:
    settling = {
        d for d in range(10) if is_settling(TODAY - timedelta(days=d), TODAY, DEFAULT_SETTLE_DAYS)
    }
    assert settling == {0, 1, 2, 3}
