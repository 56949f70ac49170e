"""Amazon Ads report parsers against the project's own fixtures (tests/fixtures/README.md lists
their totals): the contract every registered report keeps, detection, totals checked against the
raw JSON (read here with json and Decimal), the rules that tie the reports together, and the
malformed documents a sync or a user can meet.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from amzinsight.errors import ReportParseError
from amzinsight.reports import (
    REPORTS,
    ads_ad_groups,
    ads_advertised_products,
    ads_campaigns,
    ads_purchased_products,
    ads_search_terms,
    ads_targeting,
    detect_report,
)
from amzinsight.reports.base import ParseContext, ParsedReport
from tests.unit.test_reports import FIXTURE_OF as SP_API_FIXTURE_OF
from tests.unit.test_reports import PIPELINE_COLUMNS, allowed_dtypes

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE_OF = {
    "sp_campaigns": "ads_sp_campaigns.json",
    "sp_ad_groups": "ads_sp_ad_groups.json",
    "sp_targeting": "ads_sp_targeting.json",
    "sp_search_term": "ads_sp_search_term.json",
    "sp_advertised_product": "ads_sp_advertised_product.json",
    "sp_purchased_product": "ads_sp_purchased_product.json",
    "sp_entities": "ads_sp_entities.json",
    "sp_console": "amazon_files/console/us_search_term.csv",
}
DAILY = [key for key in FIXTURE_OF if key not in ("sp_entities", "sp_console")]
TABLE_OF = {
    "sp_campaigns": "ads_campaign_daily",
    "sp_ad_groups": "ads_campaign_daily",
    "sp_targeting": "ads_target_daily",
    "sp_search_term": "ads_search_term_daily",
    "sp_advertised_product": "ads_advertised_product_daily",
    "sp_purchased_product": "ads_purchased_product_daily",
}
REPORT_TYPE_OF = {
    "sp_campaigns": "spCampaigns",
    "sp_ad_groups": "spCampaigns",
    "sp_targeting": "spTargeting",
    "sp_search_term": "spSearchTerm",
    "sp_advertised_product": "spAdvertisedProduct",
    "sp_purchased_product": "spPurchasedProduct",
}
DAILY_REPORT = {
    "sp_campaigns": ads_campaigns.REPORT,
    "sp_ad_groups": ads_ad_groups.REPORT,
    "sp_targeting": ads_targeting.REPORT,
    "sp_search_term": ads_search_terms.REPORT,
    "sp_advertised_product": ads_advertised_products.REPORT,
    "sp_purchased_product": ads_purchased_products.REPORT,
}
PROFILE = "3927415508812264"
US = "ATVPDKIKX0DER"
DAY_1, DAY_2 = date(2026, 3, 10), date(2026, 3, 11)
CONTEXT = ParseContext(
    marketplace_id=US,
    currency="USD",
    time_zone="America/Los_Angeles",
    data_start=DAY_1,
    data_end=DAY_2,
    snapshot_date=date(2026, 3, 12),
    profile_id=PROFILE,
)
CENT = Decimal("0.01")
# the performance metrics every daily table shares: table column -> Amazon column
PERFORMANCE = {
    "impressions": "impressions",
    "clicks": "clicks",
    "cost": "cost",
    **{f"purchases_{w}": f"purchases{w}" for w in ("1d", "7d", "14d", "30d")},
    **{f"sales_{w}": f"sales{w}" for w in ("1d", "7d", "14d", "30d")},
    **{f"units_sold_clicks_{w}": f"unitsSoldClicks{w}" for w in ("1d", "7d", "14d", "30d")},
    **{f"purchases_same_sku_{w}": f"purchasesSameSku{w}" for w in ("7d", "14d")},
    **{f"sales_same_sku_{w}": f"attributedSalesSameSku{w}" for w in ("7d", "14d")},
    **{f"units_sold_same_sku_{w}": f"unitsSoldSameSku{w}" for w in ("7d", "14d")},
}
METRICS = list(PERFORMANCE)


def parsed(key: str, path: Path | None = None, context: ParseContext = CONTEXT) -> ParsedReport:
    return REPORTS[key].parse(path or FIXTURES / FIXTURE_OF[key], context)


def frame(key: str, path: Path | None = None, context: ParseContext = CONTEXT) -> pl.DataFrame:
    report = parsed(key, path, context)
    (rows,) = report.tables
    return rows.frame


def raw(key: str) -> Any:
    """A fixture read independently of the parsers: json, numbers with a fraction as Decimal."""
    return json.loads((FIXTURES / FIXTURE_OF[key]).read_text(encoding="utf-8"), parse_float=Decimal)


def write(tmp_path: Path, rows: Any, name: str = "report.json", **dumps: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(rows, default=float, **dumps), encoding="utf-8")
    return path


def sums(rows: Iterable[dict[str, Any]], by: tuple[str, ...], metrics: list[str]) -> dict:
    """{key values: {metric: total}} over a parsed frame's rows (nulls count as 0)."""
    totals: dict[tuple, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(metrics, 0))
    for row in rows:
        group = totals[tuple(row[name] for name in by)]
        for metric in metrics:
            group[metric] += row[metric] or 0
    return dict(totals)


# --- the contract every registered report keeps -------------------------------------------------


def test_every_ads_report_has_a_fixture_here() -> None:
    ads = {key for key, spec in REPORTS.items() if spec.acquisition == "ads"}
    assert ads == set(DAILY)
    assert set(REPORTS) == set(SP_API_FIXTURE_OF) | set(FIXTURE_OF)
    assert all((FIXTURES / name).is_file() for name in FIXTURE_OF.values())


@pytest.mark.parametrize("key", FIXTURE_OF)
def test_contract(key: str) -> None:
    report = parsed(key)
    assert report.tables and report.rows > 0
    for rows in report.tables:
        table_columns = {column.name: column for column in rows.table.columns}
        data = rows.frame
        assert set(data.columns) <= set(table_columns), set(data.columns) - set(table_columns)
        assert not PIPELINE_COLUMNS & set(data.columns)
        natural_key = next(
            constraint
            for constraint in rows.table.constraints
            if isinstance(constraint, sa.UniqueConstraint) and "store_id" in constraint.columns
        )
        assert rows.key == tuple(c.name for c in natural_key.columns if c.name != "store_id")
        assert data.select(pl.col(rows.key).null_count()).sum_horizontal().item() == 0
        assert not data.select(pl.struct(rows.key).is_duplicated().any()).item()
        assert data["profile_id"].unique().to_list() == [PROFILE]
        for name, dtype in data.schema.items():
            assert not dtype.is_float(), f"{rows.table.name}.{name} is a float"
            allowed = allowed_dtypes(table_columns[name])
            assert dtype in allowed, f"{rows.table.name}.{name}: {dtype}, not one of {allowed}"
        # every money, bid and ratio column the table has is there, as Decimal (a console
        # export has some attribution windows only: the columns it lacks are left as they are)
        numeric = [c.name for c in rows.table.columns if isinstance(c.type, sa.Numeric)]
        stored = [name for name in numeric if name != "target_acos"]
        if key != "sp_console":
            assert set(stored) <= set(data.columns), set(stored) - set(data.columns)
        assert all(isinstance(data.schema[name], pl.Decimal) for name in stored if name in data)


@pytest.mark.parametrize("key", DAILY)
def test_daily_rows_are_days_with_a_currency_and_no_settling_flag(key: str) -> None:
    data = frame(key)
    assert data.schema["report_date"] == pl.Date
    assert sorted(data["report_date"].unique().to_list()) == [DAY_1, DAY_2]
    assert data["currency"].unique().to_list() == ["USD"]
    assert "is_settling" not in data.columns  # decided when read, from the day of the read
    assert data.height == len(raw(key))


def test_specs_say_how_each_ads_report_is_fetched() -> None:
    expected = {
        "sp_campaigns": ("spCampaigns", ("campaign",)),
        "sp_ad_groups": ("spCampaigns", ("campaign", "adGroup")),
        "sp_targeting": ("spTargeting", ("targeting",)),
        "sp_search_term": ("spSearchTerm", ("searchTerm",)),
        "sp_advertised_product": ("spAdvertisedProduct", ("advertiser",)),
        "sp_purchased_product": ("spPurchasedProduct", ("asin",)),
    }
    for key, (report_type, group_by) in expected.items():
        spec = REPORTS[key]
        request = spec.ads_report
        assert request is not None
        shape = (spec.acquisition, spec.window, spec.extension, spec.lookback_days)
        assert shape == ("ads", "range", "json", 14)
        assert spec.max_window_days == 31 and spec.per_marketplace
        assert spec.amazon_report_type == report_type == REPORT_TYPE_OF[key]
        assert (request.report_type_id, request.group_by) == (report_type, group_by)
        assert request.ad_product == "SPONSORED_PRODUCTS" and request.time_unit == "DAILY"
        assert request.filters == ()  # keywords and product targets alike, every status
        assert request.columns[0] == "date" and "campaignBudgetCurrencyCode" in request.columns
        assert len(set(request.columns)) == len(request.columns)
        # the fixture holds exactly what the request asks for (Amazon returns those columns)
        in_fixture = {name for row in raw(key) for name in row}
        assert in_fixture == set(request.columns), in_fixture ^ set(request.columns)
    campaign_columns = REPORTS["sp_campaigns"].ads_report.columns  # type: ignore[union-attr]
    assert set(campaign_columns) == {
        "date",
        "campaignId",
        "campaignName",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetType",
        "campaignBiddingStrategy",
        "topOfSearchImpressionShare",
        "campaignBudgetCurrencyCode",
        *PERFORMANCE.values(),
    }
    assert {"adGroupId", "adGroupName", "adStatus"} <= set(
        REPORTS["sp_ad_groups"].ads_report.columns  # type: ignore[union-attr]
    )
    purchased = REPORTS["sp_purchased_product"].ads_report.columns  # type: ignore[union-attr]
    assert not {"impressions", "clicks", "cost"} & set(purchased)
    entities = REPORTS["sp_entities"]
    how = (entities.acquisition, entities.window, entities.extension, entities.api_operation)
    assert how == ("api", "snapshot", "json", "spEntities")
    assert entities.amazon_report_type is None and entities.ads_report is None


# --- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", FIXTURE_OF)
def test_each_ads_document_is_detected_as_its_own_spec_only(key: str) -> None:
    head = (FIXTURES / FIXTURE_OF[key]).read_bytes()[: 64 * 1024]
    claimed = [other for other, spec in REPORTS.items() if spec.detect(head)]
    assert claimed == [key]
    assert detect_report((FIXTURES / FIXTURE_OF[key]).read_bytes()) is REPORTS[key]


@pytest.mark.parametrize("key", DAILY)
def test_detection_does_not_depend_on_layout_or_key_order(key: str, tmp_path: Path) -> None:
    rows = [dict(reversed(row.items())) for row in raw(key)]
    for layout in ({"separators": (",", ":")}, {"indent": 2}):
        head = write(tmp_path, rows, **layout).read_bytes()
        assert [other for other, spec in REPORTS.items() if spec.detect(head)] == [key]


@pytest.mark.parametrize("name", sorted(set(SP_API_FIXTURE_OF.values()) - {"ads_sp_entities.json"}))
def test_sp_api_documents_are_not_detected_as_ads(name: str) -> None:
    head = (FIXTURES / name).read_bytes()[: 64 * 1024]
    assert not [key for key in FIXTURE_OF if REPORTS[key].detect(head)]


def test_an_empty_array_is_no_report_type(tmp_path: Path) -> None:
    with pytest.raises(ReportParseError, match="not a report type AmzInsight knows"):
        detect_report(b"[]")


# --- totals, against the raw JSON ---------------------------------------------------------------

# per day: spend, sales7d, purchases7d, clicks, impressions (tests/fixtures/README.md)
TOTALS = {
    "performance": {
        DAY_1: (Decimal("96.57"), Decimal("362.38"), 10, 95, 10260),
        DAY_2: (Decimal("91.25"), Decimal("357.42"), 10, 86, 9532),
    },
    "sp_search_term": {
        DAY_1: (Decimal("94.28"), Decimal("362.38"), 10, 93, 8070),
        DAY_2: (Decimal("87.60"), Decimal("357.42"), 10, 83, 7530),
    },
}


def raw_totals(key: str, columns: tuple[str, ...]) -> dict[date, tuple]:
    totals: dict[date, list] = defaultdict(lambda: [0] * len(columns))
    for row in raw(key):
        day = date.fromisoformat(row["date"])
        for index, column in enumerate(columns):
            totals[day][index] += row.get(column) or 0
    return {day: tuple(values) for day, values in totals.items()}


def parsed_totals(data: pl.DataFrame, columns: tuple[str, ...]) -> dict[date, tuple]:
    grouped = data.group_by("report_date").agg(pl.col(columns).sum())
    return {row[0]: tuple(row[1:]) for row in grouped.iter_rows()}


@pytest.mark.parametrize(
    "key",
    ["sp_campaigns", "sp_ad_groups", "sp_targeting", "sp_search_term", "sp_advertised_product"],
)
def test_daily_totals_match_the_raw_json(key: str) -> None:
    amazon = ("cost", "sales7d", "purchases7d", "clicks", "impressions")
    ours = ("cost", "sales_7d", "purchases_7d", "clicks", "impressions")
    from_json = raw_totals(key, amazon)
    assert parsed_totals(frame(key), ours) == from_json
    assert from_json == TOTALS.get(key, TOTALS["performance"])


def test_purchased_product_totals_match_the_raw_json() -> None:
    amazon = ("salesOtherSku7d", "purchasesOtherSku7d", "unitsSoldOtherSku7d", "salesOtherSku30d")
    ours = ("sales_other_sku_7d", "purchases_other_sku_7d", "units_sold_other_sku_7d")
    from_json = raw_totals("sp_purchased_product", amazon)
    assert parsed_totals(frame("sp_purchased_product"), (*ours, "sales_other_sku_30d")) == from_json
    assert {day: values[:3] for day, values in from_json.items()} == {
        DAY_1: (Decimal("44.95"), 2, 5),
        DAY_2: (Decimal("43.49"), 2, 2),
    }


@pytest.mark.parametrize("key", DAILY)
def test_every_value_is_the_json_value(key: str) -> None:
    """Row by row (the frame keeps the array's order): ids as the text of the JSON number, money
    as the same Decimal, counts as the same integers, text unchanged."""
    module_report = DAILY_REPORT[key]
    data = frame(key)
    for row, source in zip(data.iter_rows(named=True), raw(key), strict=True):
        assert row["report_date"] == date.fromisoformat(source["date"])
        for name, column in module_report.columns.items():
            value = source.get(column.source)
            expected: Any
            if value is None:
                expected = "" if name in module_report.blank_when_missing else None
            elif column.kind == "id":
                assert isinstance(value, int)
                expected = str(value)
            elif column.kind == "money":
                expected = Decimal(value).quantize(CENT)
            elif column.kind in ("bid", "ratio"):
                expected = Decimal(value).quantize(Decimal("0.0001"))
            else:
                expected = value
            assert row[name] == expected, (key, name, value)
            if isinstance(row[name], Decimal):
                assert row[name].as_tuple().exponent == (-2 if column.kind == "money" else -4)


# --- the rules that tie the reports together ----------------------------------------------------


def test_campaigns_equal_the_sum_of_their_targets() -> None:
    targets = sums(frame("sp_targeting").to_dicts(), ("report_date", "campaign_id"), METRICS)
    campaigns = frame("sp_campaigns")
    assert campaigns["ad_group_id"].unique().to_list() == [""]
    assert sums(campaigns.to_dicts(), ("report_date", "campaign_id"), METRICS) == targets
    assert campaigns.height == 6


def test_ad_groups_equal_the_sum_of_their_targets_and_make_up_the_campaigns() -> None:
    targets = frame("sp_targeting").to_dicts()
    ad_groups = frame("sp_ad_groups")
    assert "" not in ad_groups["ad_group_id"].to_list()
    assert ad_groups.height == 8
    by = ("report_date", "campaign_id", "ad_group_id")
    assert sums(ad_groups.to_dicts(), by, METRICS) == sums(targets, by, METRICS)
    by_campaign = ("report_date", "campaign_id")
    campaigns = frame("sp_campaigns").to_dicts()
    assert sums(ad_groups.to_dicts(), by_campaign, METRICS) == sums(campaigns, by_campaign, METRICS)


def test_search_terms_stay_within_their_targets() -> None:
    checked = ["impressions", "clicks", "cost", "purchases_7d", "sales_7d", "units_sold_clicks_7d"]
    by = ("report_date", "campaign_id", "ad_group_id", "target_id")
    targets = sums(frame("sp_targeting").to_dicts(), by, checked)
    terms = sums(frame("sp_search_term").to_dicts(), by, checked)
    assert set(terms) <= set(targets)
    for group, totals in terms.items():
        for metric in checked:
            assert totals[metric] <= targets[group][metric], (group, metric)
    # a target without clicks has no search terms (Amazon lists clicked terms only)
    assert frame("sp_search_term")["clicks"].min() > 0  # type: ignore[operator]
    assert len(terms) == len(targets) - 1


def test_advertised_products_equal_the_targets_of_their_ad_group() -> None:
    metrics = [*METRICS, "sales_other_sku_7d", "units_sold_other_sku_7d"]
    by = ("report_date", "campaign_id", "ad_group_id")
    products = frame("sp_advertised_product")
    assert sums(products.to_dicts(), by, metrics) == sums(
        frame("sp_targeting").to_dicts(), by, metrics
    )
    assert products.height == 12 and products["advertised_sku"].null_count() == 0


def test_purchased_products_are_the_other_sku_sales_of_the_targets() -> None:
    by = ("report_date",)
    targets = frame("sp_targeting").to_dicts()
    purchased = frame("sp_purchased_product")
    assert sums(purchased.to_dicts(), by, ["sales_other_sku_7d", "units_sold_other_sku_7d"]) == (
        sums(targets, by, ["sales_other_sku_7d", "units_sold_other_sku_7d"])
    )
    assert (purchased["advertised_asin"] != purchased["purchased_asin"]).all()


def test_entities_hold_every_id_the_reports_name() -> None:
    report = parsed("sp_entities")
    campaigns, ad_groups, targets = (rows.frame for rows in report.tables)
    targeting = frame("sp_targeting")
    assert set(targeting["campaign_id"]) <= set(campaigns["campaign_id"])
    assert set(targeting["ad_group_id"]) <= set(ad_groups["ad_group_id"])
    assert set(targeting["target_id"]) <= set(targets["target_id"])
    bids = dict(zip(targets["target_id"], targets["bid"], strict=True))
    assert all(bids[row["target_id"]] == row["keyword_bid"] for row in targeting.to_dicts())
    products = frame("sp_advertised_product")
    assert set(products["ad_group_id"]) <= set(ad_groups["ad_group_id"])


# --- values by case -----------------------------------------------------------------------------


def test_targeting_holds_keywords_and_product_targets() -> None:
    data = frame("sp_targeting")
    assert set(data["match_type"]) == {
        "EXACT",
        "PHRASE",
        "BROAD",
        "TARGETING_EXPRESSION",
        "TARGETING_EXPRESSION_PREDEFINED",
    }
    assert {"close-match", "loose-match", 'asin="B08HGT3MLQ"'} <= set(data["keyword_text"])
    assert (data["keyword_text"] == data["targeting"]).all()
    idle = data.filter(pl.col("clicks") == 0).row(0, named=True)
    assert (idle["keyword_text"], idle["report_date"]) == ("loose-match", DAY_2)
    assert idle["impressions"] == 212 and idle["cost"] == Decimal("0.00")
    assert idle["sales_7d"] == Decimal("0.00") and idle["ad_keyword_status"] == "ENABLED"
    exact = data.filter(
        (pl.col("target_id") == "513308847702215") & (pl.col("report_date") == DAY_1)
    ).row(0, named=True)
    assert exact["keyword_bid"] == Decimal("1.4500")
    assert exact["top_of_search_impression_share"] == Decimal("0.2410")
    assert (exact["sales_7d"], exact["sales_other_sku_7d"]) == (Decimal("140.95"), Decimal("17.98"))


def test_search_terms_are_kept_exactly() -> None:
    data = frame("sp_search_term")
    terms = set(data["search_term"])
    assert {"*", "b08hgt3mlq", "gooseneck kettle"} <= terms
    assert data.filter(pl.col("search_term") == "b08hgt3mlq")[
        "keyword_text"
    ].unique().to_list() == ['asin="B08HGT3MLQ"']
    # zero-purchase terms with clicks: the negative-keyword candidates
    wasteful = data.filter((pl.col("purchases_7d") == 0) & (pl.col("clicks") > 0))
    from_json = {row["searchTerm"] for row in raw("sp_search_term") if row["purchases7d"] == 0}
    assert set(wasteful["search_term"]) == from_json
    assert {"*", "stovetop whistling kettle", "espresso tamper", "kettle for tea"} <= from_json
    stovetop = wasteful.filter(pl.col("search_term") == "stovetop whistling kettle")
    assert stovetop["clicks"].sum() == 10 and stovetop["cost"].sum() == Decimal("8.50")


def test_purchased_product_row_without_keyword_has_keyword_id_blank() -> None:
    data = frame("sp_purchased_product")
    blank = data.filter(pl.col("keyword_id") == "")
    assert blank.height == 1
    assert blank.row(0, named=True)["keyword_text"] is None
    assert not {"impressions", "clicks", "cost"} & set(data.columns)


def test_currency_falls_back_to_the_marketplace(tmp_path: Path) -> None:
    rows = raw("sp_campaigns")
    for row in rows:
        del row["campaignBudgetCurrencyCode"]
    path = write(tmp_path, rows)
    assert frame("sp_campaigns", path)["currency"].unique().to_list() == ["USD"]
    no_currency = ParseContext(profile_id=PROFILE)
    assert frame("sp_campaigns", path, no_currency)["currency"].null_count() == len(rows)
    rows[0]["campaignBudgetCurrencyCode"] = "CAD"
    assert frame("sp_campaigns", write(tmp_path, rows))["currency"][0] == "CAD"


def test_missing_and_null_columns_are_accepted(tmp_path: Path) -> None:
    rows = raw("sp_targeting")
    rows[0]["costPerClick"] = None  # a column not asked for, null
    rows[0]["clickThroughRate"] = Decimal("0.0153")
    rows[1]["sales30d"] = None
    del rows[2]["topOfSearchImpressionShare"]
    for row in rows:
        del row["purchasesSameSku14d"]
    data = frame("sp_targeting", write(tmp_path, rows))
    assert data["sales_30d"][1] is None and data["top_of_search_impression_share"][2] is None
    assert data["purchases_same_sku_14d"].null_count() == len(rows)
    assert data.drop(
        "sales_30d", "top_of_search_impression_share", "purchases_same_sku_14d"
    ).equals(
        frame("sp_targeting").drop(
            "sales_30d", "top_of_search_impression_share", "purchases_same_sku_14d"
        )
    )


@pytest.mark.parametrize(
    "layout",
    [
        {"separators": (",", ":")},  # Amazon's compact download
        {"indent": 2},
        {"indent": "\t"},
        {"separators": (" , ", " : ")},
    ],
)
def test_any_layout_and_key_order_give_the_same_rows(layout: dict, tmp_path: Path) -> None:
    rows = [dict(reversed(row.items())) for row in raw("sp_search_term")]
    expected = frame("sp_search_term")
    assert frame("sp_search_term", write(tmp_path, rows, **layout)).equals(expected)
    text = "\ufeff" + json.dumps(rows, default=float, **layout).replace("\n", "\r\n")
    (tmp_path / "bom.json").write_text(text, encoding="utf-8")
    assert frame("sp_search_term", tmp_path / "bom.json").equals(expected)


@pytest.mark.parametrize("term", ['cutting board},{"x":1', "kettle {1l}", 'say "hi"', "grüße ☕"])
def test_search_terms_with_json_characters_are_read_exactly(term: str, tmp_path: Path) -> None:
    rows = raw("sp_search_term")
    rows[3]["searchTerm"] = term
    for layout in ({"separators": (",", ":")}, {"indent": 1}):
        data = frame("sp_search_term", write(tmp_path, rows, ensure_ascii=False, **layout))
        assert data["search_term"][3] == term
        assert data.drop("search_term").equals(frame("sp_search_term").drop("search_term"))


def test_numbers_are_quantised_to_the_column_scale(tmp_path: Path) -> None:
    rows = raw("sp_targeting")
    rows[0].update(cost=Decimal("12.345"), keywordBid=Decimal("1.23456"), sales7d=7)
    rows[1].update(cost=Decimal("1E-5"), impressions=Decimal("3.0"))
    data = frame("sp_targeting", write(tmp_path, rows))
    first = data.row(0, named=True)
    assert first["cost"] == Decimal("12.345").quantize(CENT) == Decimal("12.34")  # half-even
    assert first["keyword_bid"] == Decimal("1.2346") and first["sales_7d"] == Decimal("7.00")
    second = data.row(1, named=True)
    assert second["cost"] == Decimal("0.00") and second["impressions"] == 3


def text_reading_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block read with all columns as text and parsed by parse_values (the slow reading)."""
    monkeypatch.setattr(ads_campaigns, "_read_numbers", lambda *_: None)


def fast_readings(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Per block read from now on: whether the numbers were read as numbers."""
    readings: list[bool] = []
    read_numbers = ads_campaigns._read_numbers

    def counted(*args: Any) -> pl.DataFrame | None:
        block = read_numbers(*args)
        readings.append(block is not None)
        return block

    monkeypatch.setattr(ads_campaigns, "_read_numbers", counted)
    return readings


@pytest.mark.parametrize("key", DAILY)
def test_numbers_read_as_numbers_equal_the_text_reading(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts straight to Int64 and amounts from float64 to Decimal give exactly the frame the
    text reading gives, and the fixtures do take that fast reading."""
    readings = fast_readings(monkeypatch)
    fast = frame(key)
    assert readings == [True]
    text_reading_only(monkeypatch)
    assert frame(key).equals(fast)


@pytest.mark.parametrize(
    ("cost", "cents", "fast"),
    [
        (Decimal("0.125"), "0.12", False),  # ties go half-even, as the text reading rounds them
        (Decimal("2.675"), "2.68", False),  # a tie whose float64 lies below it: the written tie
        (Decimal("1.005"), "1.00", False),
        (Decimal("0.8999999761581421"), "0.90", True),  # a float32 amount: not a tie
        (Decimal("12.3449999"), "12.34", True),
        (Decimal("-0.006"), "-0.01", True),
        (Decimal("1E-5"), "0.00", True),
        (Decimal("9999999999.99"), "9999999999.99", True),
        (Decimal("123456789012345678"), "123456789012345680.00", False),  # past float64 digits
        ("12.30", "12.30", False),  # an amount written as a string
    ],
)
def test_amounts_round_to_cents_as_written(
    cost: Any, cents: str, fast: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast reading takes what it can round exactly and leaves the rest to the text reading;
    both give the cents of the number as written."""
    rows = raw("sp_targeting")
    rows[2]["cost"] = cost
    path = write(tmp_path, rows)
    readings = fast_readings(monkeypatch)
    data = frame("sp_targeting", path)
    assert readings == [fast]
    assert data["cost"][2] == Decimal(cents)
    text_reading_only(monkeypatch)
    assert frame("sp_targeting", path).equals(data)


def test_counts_written_with_a_fraction_are_read_as_text(tmp_path: Path) -> None:
    rows = raw("sp_targeting")
    rows[4]["impressions"] = Decimal("3.0")
    rows[5]["clicks"] = "7"
    data = frame("sp_targeting", write(tmp_path, rows))
    assert data["impressions"][4] == 3 and data["clicks"][5] == 7
    assert data.drop("impressions", "clicks").equals(
        frame("sp_targeting").drop("impressions", "clicks")
    )


def test_summary_document_of_one_day_is_accepted(tmp_path: Path) -> None:
    rows = raw("sp_targeting")
    day_one = [row for row in rows if row["date"] == "2026-03-10"]
    for row in day_one:
        day = row.pop("date")
        row.update(startDate=day, endDate=day)
    data = frame("sp_targeting", write(tmp_path, day_one))
    assert data["report_date"].unique().to_list() == [DAY_1]
    assert data.height == len(day_one)


def test_summary_document_over_several_days_is_refused(tmp_path: Path) -> None:
    rows = raw("sp_campaigns")
    for row in rows:
        del row["date"]
        row.update(startDate="2026-03-10", endDate="2026-03-11")
    with pytest.raises(ReportParseError, match=r"spCampaigns row 0: .*2026-03-10 to 2026-03-11"):
        parsed("sp_campaigns", write(tmp_path, rows))


def test_empty_array_gives_empty_typed_frames(tmp_path: Path) -> None:
    for key in DAILY:
        report = parsed(key, write(tmp_path, []))
        assert report.rows == 0
        assert report.tables[0].frame.schema == frame(key).schema


# --- documents that are refused -----------------------------------------------------------------


def test_not_an_array_is_refused(tmp_path: Path) -> None:
    error_answer = {"code": "UNAUTHORIZED", "details": "Not authorized to access this advertiser"}
    with pytest.raises(ReportParseError, match="spSearchTerm document: expected a JSON array"):
        parsed("sp_search_term", write(tmp_path, error_answer))
    with pytest.raises(ReportParseError, match="spTargeting row 1: expected an object, found 5"):
        parsed("sp_targeting", write(tmp_path, [raw("sp_targeting")[0], 5]))
    (tmp_path / "cut.json").write_text('[{"date": "2026-03-10", "campaignId": 1', "utf-8")
    with pytest.raises(ReportParseError, match="spTargeting line 1: not valid JSON"):
        parsed("sp_targeting", tmp_path / "cut.json")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda rows: rows[3].pop("date"), "spTargeting row 3: date is empty"),
        (lambda rows: rows[2].update(cost="abc"), "spTargeting row 2: cost 'abc' is not a number"),
        (lambda rows: rows[5].update(clicks=1.5), "spTargeting row 5: clicks '1.5' is not a whole"),
        (lambda rows: rows[4].update(keywordId=None), "spTargeting row 4: keywordId is empty"),
        (
            lambda rows: rows[1].update(campaignId="C-17"),
            "spTargeting row 1: campaignId 'C-17' is not an Amazon Ads id",
        ),
        (
            lambda rows: rows[6].update(date="2026-13-40"),
            "spTargeting row 6: date '2026-13-40' is not a date",
        ),
        (
            lambda rows: rows.append(dict(rows[7])),
            r"spTargeting row 12: profile_id '3927415508812264', report_date .*, target_id "
            r"'513308847702436' appears more than once",
        ),
    ],
)
def test_bad_rows_name_the_report_and_the_row(damage: Any, problem: str, tmp_path: Path) -> None:
    rows = raw("sp_targeting")
    damage(rows)
    for layout in ({"separators": (",", ":")}, {"indent": 2}):
        with pytest.raises(ReportParseError, match=problem):
            parsed("sp_targeting", write(tmp_path, rows, **layout))


@pytest.mark.parametrize("key", DAILY)
def test_missing_profile_is_refused(key: str) -> None:
    with pytest.raises(ReportParseError, match=f"{REPORT_TYPE_OF[key]}: no Amazon Ads profile"):
        parsed(key, context=ParseContext(currency="USD"))


@pytest.mark.parametrize("key", DAILY)
def test_another_document_fed_to_an_ads_parser_is_refused(key: str) -> None:
    others = [name for other, name in FIXTURE_OF.items() if other != key]
    for name in [*others, *SP_API_FIXTURE_OF.values()]:
        with pytest.raises(ReportParseError):
            parsed(key, FIXTURES / name)


def test_campaigns_and_ad_groups_differ(tmp_path: Path) -> None:
    with pytest.raises(ReportParseError, match="spCampaigns: the document is a sp_ad_groups"):
        parsed("sp_campaigns", FIXTURES / FIXTURE_OF["sp_ad_groups"])
    with pytest.raises(ReportParseError, match="spCampaigns: the document is a sp_campaigns"):
        parsed("sp_ad_groups", FIXTURES / FIXTURE_OF["sp_campaigns"])
    # past the first row too: every ad group row needs its adGroupId
    rows = raw("sp_ad_groups")
    del rows[5]["adGroupId"]
    with pytest.raises(ReportParseError, match="spCampaigns row 5: adGroupId is empty"):
        parsed("sp_ad_groups", write(tmp_path, rows))


@pytest.mark.parametrize("content", [b"", b"  \n", bytes(range(256)) * 40, b"[", b"[{}"])
def test_empty_and_garbage_documents_are_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(content)
    for key in DAILY:
        with pytest.raises(ReportParseError, match=REPORT_TYPE_OF[key]):
            parsed(key, path)


# --- entities -----------------------------------------------------------------------------------


def entities() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    report = parsed("sp_entities")
    assert [rows.table.name for rows in report.tables] == [
        "ads_campaigns",
        "ads_ad_groups",
        "ads_targets",
    ]
    campaigns, ad_groups, targets = (rows.frame for rows in report.tables)
    return campaigns, ad_groups, targets


def test_entities_match_the_document() -> None:
    document = raw("sp_entities")
    campaigns, ad_groups, targets = entities()
    assert campaigns["campaign_id"].to_list() == [c["campaignId"] for c in document["campaigns"]]
    assert ad_groups["ad_group_id"].to_list() == [g["adGroupId"] for g in document["adGroups"]]
    assert campaigns["budget"].sum() == sum(c["budget"]["budget"] for c in document["campaigns"])
    assert "target_acos" not in campaigns.columns  # a user's setting: syncs never write it
    first = campaigns.row(0, named=True)
    assert first == {
        "profile_id": PROFILE,
        "campaign_id": "301485726190341",
        "name": "BL Kettles - SP - Manual KW",
        "state": "ENABLED",
        "targeting_type": "MANUAL",
        "budget": Decimal("30.00"),
        "currency": "USD",
        "budget_type": "DAILY",
        "bidding_strategy": "LEGACY_FOR_SALES",
        "portfolio_id": "719302658814405",
        "start_date": date(2026, 1, 15),
        "end_date": None,
        "updated_at": None,
    }
    archived = campaigns.filter(pl.col("state") == "ARCHIVED").row(0, named=True)
    assert archived["end_date"] == date(2026, 2, 28)
    assert ad_groups["default_bid"].to_list() == [
        Decimal("1.2000"),
        Decimal("0.8000"),
        Decimal("0.7500"),
        Decimal("0.5000"),
    ]
    assert ad_groups["currency"].unique().to_list() == ["USD"]
    counts = dict(targets.group_by("kind").len().iter_rows())
    assert counts == {
        "keyword": 3,
        "product_target": 4,
        "negative_keyword": 1,
        "campaign_negative_keyword": 1,
        "negative_product_target": 1,
    }


def test_entity_targets_by_kind() -> None:
    _, _, targets = entities()
    by_id = {row["target_id"]: row for row in targets.to_dicts()}
    keyword = by_id["513308847702215"]
    assert (keyword["kind"], keyword["keyword_text"], keyword["match_type"]) == (
        "keyword",
        "gooseneck kettle",
        "EXACT",
    )
    assert keyword["bid"] == Decimal("1.4500") and keyword["expression"] is None
    expressions = {row["expression"]: row for row in targets.to_dicts() if row["expression"]}
    assert set(expressions) == {
        "close-match",
        "loose-match",
        "substitutes",
        'asin="B08HGT3MLQ"',
        'asin="B0FTK4R2S6"',
    }
    assert expressions["substitutes"]["bid"] is None
    assert expressions["substitutes"]["state"] == "PAUSED"
    assert expressions['asin="B08HGT3MLQ"']["match_type"] == "MANUAL"
    assert expressions['asin="B0FTK4R2S6"']["kind"] == "negative_product_target"
    campaign_negative = by_id["846019273340338"]
    assert campaign_negative["kind"] == "campaign_negative_keyword"
    assert campaign_negative["ad_group_id"] is None
    assert campaign_negative["match_type"] == "NEGATIVE_PHRASE"
    negative = by_id["846019273340117"]
    assert (negative["kind"], negative["match_type"], negative["bid"]) == (
        "negative_keyword",
        "NEGATIVE_EXACT",
        None,
    )
    assert targets["currency"].unique().to_list() == ["USD"]


def test_entity_variants(tmp_path: Path) -> None:
    document = raw("sp_entities")
    document["negativeKeywords"][0]["negativeKeywordId"] = document["negativeKeywords"][0].pop(
        "keywordId"
    )
    document["campaigns"][0].update(
        campaignId=int(document["campaigns"][0]["campaignId"]),  # a number is text too
        startDate="20260115",  # v2's form
        extendedData={"lastUpdateDateTime": "2026-03-11T17:02:11Z"},
    )
    document["targets"][3]["expression"] = [
        {"type": "ASIN_CATEGORY_SAME_AS", "value": "3744371"},
        {"type": "ASIN_PRICE_LESS_THAN", "value": Decimal("25.5")},
        {"type": "ASIN_SOMETHING_NEW", "value": "x"},
    ]
    del document["currency"]
    report = parsed("sp_entities", write(tmp_path, document), ParseContext(currency="CAD"))
    campaigns, _, targets = (rows.frame for rows in report.tables)
    first = campaigns.row(0, named=True)
    assert first["campaign_id"] == "301485726190341" and first["start_date"] == date(2026, 1, 15)
    assert first["updated_at"] == datetime.fromisoformat("2026-03-11T17:02:11+00:00")
    assert first["currency"] == "CAD"
    assert "846019273340117" in targets["target_id"].to_list()
    expression = 'category="3744371" price<25.5 asin-something-new="x"'
    assert expression in targets["expression"].to_list()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(source="getInventorySummaries"), "not a Sponsored Products entities"),
        (lambda d: d.update(profileId="1"), "profile 1's, not profile 3927415508812264's"),
        (lambda d: d["keywords"][1].pop("keywordId"), r"spEntities keywords\[1\]: keywordId is"),
        (
            lambda d: d["targets"][2].update(expression="close-match", bid="high"),
            r"spEntities targets\[2\]: bid 'high' is not a number",
        ),
        (
            lambda d: d["targets"][1].update(expression={"type": "X"}),
            r"spEntities targets\[1\]: expression .* is not a list",
        ),
        (
            lambda d: d["negativeTargets"][0].update(targetId=d["targets"][0]["targetId"]),
            r"spEntities negativeTargets\[0\]: profile_id .* appears more than once",
        ),
        (lambda d: d.update(adGroups={"a": 1}), "spEntities adGroups: expected a list of objects"),
        (lambda d: d.update(snapshotDate="soon"), "snapshotDate 'soon' is not a date"),
    ],
)
def test_bad_entities_are_refused(change: Any, problem: str, tmp_path: Path) -> None:
    document = raw("sp_entities")
    change(document)
    with pytest.raises(ReportParseError, match=problem):
        parsed("sp_entities", write(tmp_path, document))


def test_entities_need_a_profile(tmp_path: Path) -> None:
    document = raw("sp_entities")
    del document["profileId"]
    path = write(tmp_path, document)
    with pytest.raises(ReportParseError, match="names no profileId"):
        parsed("sp_entities", path, ParseContext(currency="USD"))
    report = parsed("sp_entities", path)  # the context's profile
    assert report.tables[2].frame["profile_id"].unique().to_list() == [PROFILE]
