"""Reading Amazon Ads console exports without a database: display headers, each marketplace's
way of writing money, numbers and dates, the report kinds, and names resolved to ids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from amzinsight.errors import ReportParseError
from amzinsight.marketplaces import marketplace_for
from amzinsight.reports import detect_report
from amzinsight.reports.ads_console import kind_of, parse, read_header
from amzinsight.reports.ads_names import AdsNames, is_named_id, named_id
from amzinsight.reports.base import ParseContext, ParsedReport

PROFILE = "111"


def context(country: str, names: AdsNames | None = None) -> ParseContext:
    market = marketplace_for(country)
    return ParseContext(
        marketplace_id=market.marketplace_id,
        currency=market.currency,
        profile_id=PROFILE,
        ads_names=names,
    )


def load(tmp_path: Path, text: str, country: str, names: AdsNames | None = None) -> ParsedReport:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    assert detect_report(path.read_bytes()).key == "sp_console"
    return parse(path, context(country, names))


def only_rows(parsed: ParsedReport) -> list[dict[str, object]]:
    (part,) = parsed.tables
    return part.frame.to_dicts()


def test_german_amounts_dates_and_counts(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        "Datum,Campaign Name,Impressions,Clicks,Spend,7 Day Total Sales ,7 Day Total Orders (#)\n"
        '04.05.2026,Bouilloire Grün,"1.234",7,"1.234,56 €","12,30 €",2\n'
        '05.05.2026,Bouilloire Grün,10,0,"0,00 €",-,-\n'.replace("Datum", "Date"),
        "DE",
    )
    rows = only_rows(parsed)
    assert [row["report_date"] for row in rows] == [date(2026, 5, 4), date(2026, 5, 5)]
    assert rows[0]["impressions"] == 1234
    assert rows[0]["cost"] == Decimal("1234.56")
    assert rows[0]["sales_7d"] == Decimal("12.30")
    assert rows[1]["sales_7d"] == 0 and rows[1]["purchases_7d"] == 0  # "-": none, as the API's 0
    assert rows[0]["currency"] == "EUR"
    assert rows[0]["ad_group_id"] == ""  # a campaign-level row
    assert "is_settling" not in rows[0]  # decided when read (rules/settling.py)


def test_indian_fourteen_day_layout_is_stored_and_labelled(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        "Start Date,End Date,Campaign Name,Ad Group Name,Targeting,Match Type,Impressions,Clicks,"
        "Spend (₹),14 Day Total Sales (₹),14 Day Total Orders (#)\n"
        "06/05/2026,06/05/2026,Kettle IN,Group,steel kettle,BROAD,900,4,Rs.201.68,"
        '"₹1,234.56",1\n',
        "IN",
    )
    (row,) = only_rows(parsed)
    assert row["report_date"] == date(2026, 5, 6)  # day first, as India writes dates
    assert (row["cost"], row["sales_14d"], row["purchases_14d"]) == (
        Decimal("201.68"),
        Decimal("1234.56"),
        1,
    )
    assert any("14-day attribution only" in note for note in parsed.notes)
    assert any("read day first" in note for note in parsed.notes)


def test_japanese_yen_and_year_first_dates(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        "日付,Campaign Name,Impressions,Clicks,Spend,7 Day Total Sales \n".replace("日付", "Date")
        + '2026/05/04,保温ケトル,"12,000",30,"¥1,234","￥12,345"\n',
        "JP",
    )
    (row,) = only_rows(parsed)
    assert (row["report_date"], row["cost"], row["sales_7d"]) == (
        date(2026, 5, 4),
        Decimal("1234"),
        Decimal("12345"),
    )
    assert row["campaign_name"] == "保温ケトル"


def test_slash_dates_follow_the_values_before_the_marketplace(tmp_path: Path) -> None:
    text = "Date,Campaign Name,Impressions,Clicks,Spend\n{0},C,1,1,$1.00\n{1},C,1,1,$2.00\n"
    us = only_rows(load(tmp_path, text.format("05/04/2026", "05/05/2026"), "US"))
    assert [row["report_date"] for row in us] == [date(2026, 5, 4), date(2026, 5, 5)]
    uk = only_rows(load(tmp_path, text.format("04/05/2026", "13/05/2026").replace("$", "£"), "GB"))
    assert [row["report_date"] for row in uk] == [date(2026, 5, 4), date(2026, 5, 13)]


def test_kinds_are_told_by_their_columns() -> None:
    def kind(*headers: str) -> str:
        header = read_header(",".join(("Date", "Campaign Name", "Impressions", *headers)))
        assert header is not None
        return kind_of(header.columns)

    assert kind("Ad Group Name", "Targeting", "Customer Search Term") == "search_term"
    assert kind("Ad Group Name", "Targeting", "Match Type") == "targeting"
    assert kind("Ad Group Name", "Advertised SKU", "Advertised ASIN") == "advertised_product"
    assert kind("Placement") == "placement"
    assert kind() == "campaign"
    purchased = read_header("Date,Campaign Name,Ad Group Name,Advertised ASIN,Purchased ASIN")
    assert purchased is not None and kind_of(purchased.columns) == "purchased_product"
    assert read_header("sku,asin,price,quantity") is None


def test_placements_add_up_to_campaign_days(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        "Date,Campaign Name,Bidding strategy,Placement,Impressions,Clicks,Spend,"
        "7 Day Total Sales \n"
        "2026-05-04,C,Dynamic bids - down only,Top of Search on-Amazon,100,5,$5.10,$20.00\n"
        "2026-05-04,C,Dynamic bids - down only,Other on-Amazon,300,2,$1.05,$0.00\n"
        "2026-05-04,C,Dynamic bids - down only,Detail Page on-Amazon,50,1,$0.40,-\n",
        "US",
    )
    (row,) = only_rows(parsed)
    assert (row["impressions"], row["clicks"], row["cost"], row["sales_7d"]) == (
        450,
        8,
        Decimal("6.55"),
        Decimal("20.00"),
    )
    assert any("placement is not kept" in note for note in parsed.notes)


def test_targets_take_known_ids_and_types_like_the_api(tmp_path: Path) -> None:
    names = AdsNames(
        campaigns={"Kettles": "100"},
        ad_groups={("100", "Exact"): "200"},
        targets={("200", "gooseneck kettle", "EXACT"): "300"},
    )
    parsed = load(
        tmp_path,
        "Date,Campaign Name,Ad Group Name,Targeting,Match Type,Top-of-search Impression Share,"
        "Impressions,Clicks,Spend\n"
        "2026-05-04,Kettles,Exact,Gooseneck Kettle,Exact,12.34%,100,3,$3.00\n"
        '2026-05-04,Kettles,Exact,"asin=""B0ABCDEFGH""",-,<5%,50,1,$1.00\n'
        "2026-05-04,Kettles,Auto,close-match,-,-,40,1,$0.50\n",
        "US",
        names,
    )
    keyword, product, auto = only_rows(parsed)
    assert (keyword["campaign_id"], keyword["ad_group_id"], keyword["target_id"]) == (
        "100",
        "200",
        "300",
    )
    assert keyword["match_type"] == keyword["keyword_type"] == "EXACT"
    assert keyword["top_of_search_impression_share"] == Decimal("0.1234")
    assert product["top_of_search_impression_share"] is None  # "<5%" is a bound, not a figure
    assert product["match_type"] == "TARGETING_EXPRESSION"
    assert product["keyword_text"] == 'asin="B0ABCDEFGH"'
    assert is_named_id(str(product["target_id"])) and product["ad_group_id"] == "200"
    assert auto["match_type"] == "TARGETING_EXPRESSION_PREDEFINED"
    assert auto["ad_group_id"] == named_id("ad_group", "Kettles", "Auto")


def test_files_that_cannot_be_read_as_one_decimal_mark_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportParseError, match="both decimal commas and decimal points"):
        load(
            tmp_path,
            'Date,Campaign Name,Impressions,Clicks,Spend\n2026-05-04,C,1,1,"1,50"\n'
            "2026-05-05,C,1,1,2.50\n",
            "US",
        )
