"""Data Kiosk sales and traffic documents and queries, without a database or a server."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from amzinsight.errors import ReportParseError
from amzinsight.ingest.sync import _sales_traffic_share
from amzinsight.reports import detect_report, sales_traffic, sales_traffic_kiosk
from amzinsight.reports.base import ParseContext
from amzinsight.reports.sales_traffic_kiosk import (
    HISTORY_DAYS,
    RECENT_REPORT_DAYS,
    TRENDS_MAX_ASINS,
    child_asins,
    parse,
    trends_query,
)

CONTEXT = ParseContext(marketplace_id="ATVPDKIKX0DER", currency="USD")
DAY = {"startDate": "2026-03-10", "endDate": "2026-03-10", "marketplaceId": "ATVPDKIKX0DER"}


def write(tmp_path: Path, *records: dict[str, object]) -> Path:
    path = tmp_path / "document.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    return path


def test_records_load_into_the_reports_tables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {**DAY, "sales": {"orderedProductSales": {"amount": 12.5, "currencyCode": "USD"},
                          "unitsOrdered": 2}, "traffic": {"sessions": 9}},
        {**DAY, "parentAsin": "B0PARENT01", "childAsin": "B0CHILD001",
         "sales": {"orderedProductSales": {"amount": 7.25, "currencyCode": "USD"},
                   "unitsOrdered": 1}, "traffic": {"sessions": 4, "buyBoxPercentage": 97.5}},
    )  # fmt: skip
    assert detect_report(path.read_bytes()).key == "sales_traffic_history"

    parsed = parse(path, CONTEXT)

    by_date, by_asin = parsed.tables
    (day,) = by_date.frame.to_dicts()
    (asin,) = by_asin.frame.to_dicts()
    assert (day["report_date"], str(day["ordered_product_sales"]), day["sessions"]) == (
        date(2026, 3, 10),
        "12.50",
        9,
    )
    assert (
        asin["child_asin"],
        asin["sku"],
        asin["units_ordered"],
        str(asin["buy_box_percentage"]),
    ) == (
        "B0CHILD001",
        "",
        1,
        "97.5000",
    )
    assert by_asin.key == sales_traffic.BY_ASIN_KEY  # one key with the report: no day twice
    assert parsed.covers == (date(2026, 3, 10), date(2026, 3, 10))


def test_weeks_months_and_ranges_are_refused(tmp_path: Path) -> None:
    week = {**DAY, "endDate": "2026-03-16", "sales": {"unitsOrdered": 1}}
    with pytest.raises(ReportParseError, match=r"2026-03-10\.\.2026-03-16, not one day"):
        parse(write(tmp_path, week), CONTEXT)


def test_trends_queries_name_at_most_thirty_asins(tmp_path: Path) -> None:
    asins = [f"B0{n:08d}" for n in range(TRENDS_MAX_ASINS + 1)]
    query = trends_query("ATVPDKIKX0DER", date(2026, 1, 1), date(2026, 1, 31), asins[:30])
    assert 'asins: ["B000000000"' in query and "dateAggregation: DAY" in query
    with pytest.raises(ValueError, match="1 to 30 ASINs"):
        trends_query("ATVPDKIKX0DER", date(2026, 1, 1), date(2026, 1, 31), asins)
    listed = write(tmp_path, *[{**DAY, "childAsin": asin} for asin in reversed(asins)])
    assert child_asins(listed) == asins


def test_the_report_keeps_recent_days_and_data_kiosk_the_rest() -> None:
    yesterday = date(2026, 12, 2)
    report, kiosk = sales_traffic.SPEC, sales_traffic_kiosk.SPEC
    assert _sales_traffic_share(report, yesterday, 90, True) == (yesterday, RECENT_REPORT_DAYS)
    last, days = _sales_traffic_share(kiosk, yesterday, 90, True)
    assert (last, days) == (yesterday - timedelta(days=RECENT_REPORT_DAYS), 90 - RECENT_REPORT_DAYS)
    assert (
        _sales_traffic_share(kiosk, yesterday, 5000, True)[1] == HISTORY_DAYS - RECENT_REPORT_DAYS
    )
    # Without the role: every day by report, nothing from Data Kiosk.
    assert _sales_traffic_share(report, yesterday, 90, False) == (yesterday, 90)
    assert _sales_traffic_share(kiosk, yesterday, 90, False)[1] == 0
