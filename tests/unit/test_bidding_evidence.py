"""The evidence model: one spelling per key, a JSON round trip, tolerant reading of what is
stored, and the engine refused a key the model does not know."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from amzinsight.bidding.evidence import Action, Cause, Evidence, Limit, NegateIn, as_evidence
from amzinsight.bidding.frames import evidence_struct, negate_in_struct

HARVEST = Evidence(
    action=Action.HARVEST,
    entity_type="keyword",
    clicks=25,
    orders=4,
    cost=18.0,
    sales=120.0,
    cvr=0.1234,
    target_acos=0.3,
    target_source="campaign target",
    destination_campaign_id="manual",
    destination_ad_group_id="exact_g",
    destination_campaign_name="Kettles Exact",
    negate_in=(
        NegateIn(campaign_id="auto", ad_group_id="auto_g", source="auto", clicks=20, orders=3),
        NegateIn(campaign_id="broad", ad_group_id="broad_g", campaign_name="Kettles Broad"),
    ),
    low_cover=False,
)
BID = Evidence(
    action=Action.LOWER,
    cause=Cause.ACOS,
    limit=Limit.MAX_STEP_DOWN,
    window_start=date(2026, 3, 1),
    window_end=date(2026, 3, 30),
    days_since_change=4,
)
NEGATIVE = Evidence(
    action=Action.NEGATIVE_PHRASE, cause=Cause.NGRAM, terms=3, examples=("cheap kettle", "cheap")
)


@pytest.mark.parametrize("evidence", [HARVEST, BID, NEGATIVE, Evidence()])
def test_json_round_trip(evidence: Evidence) -> None:
    text = evidence.to_json()
    assert Evidence.from_json(text) == evidence
    assert Evidence.from_json(json.loads(text)) == evidence  # JSONB comes back decoded
    assert as_evidence(evidence) is evidence


def test_the_document_leaves_out_none_and_writes_json_types() -> None:
    document = json.loads(BID.to_json())
    assert document == {
        "action": "lower",
        "days_since_change": 4,
        "cause": "acos",
        "limit": "max_step_down",
        "window_start": "2026-03-01",
        "window_end": "2026-03-30",
    }
    negate_in = HARVEST.to_dict()["negate_in"]
    assert negate_in[1] == {
        "campaign_id": "broad",
        "ad_group_id": "broad_g",
        "campaign_name": "Kettles Broad",
    }
    assert NEGATIVE.to_dict()["examples"] == ["cheap kettle", "cheap"]


def test_reading_is_tolerant_of_what_is_stored() -> None:
    stored = {
        "clicks": 12.0,  # a count written as a float
        "cost": "4.5",  # a number as text
        "orders": True,  # not a number
        "window_start": "not a date",
        "negate_in": [{"campaign_id": 7, "clicks": None}, "junk"],
        "someday_a_new_key": 1,
        "limit": None,
    }
    evidence = Evidence.from_json(stored)
    assert (evidence.clicks, evidence.cost, evidence.orders) == (12, 4.5, None)
    assert evidence.window_start is None and evidence.limit is None
    assert evidence.negate_in == (NegateIn(campaign_id="7"),)
    assert Evidence.from_json(None) == Evidence.from_json("") == Evidence.from_json("[]")


def test_sql_keys_are_checked() -> None:
    assert Evidence.key("destination_ad_group_id") == "destination_ad_group_id"
    with pytest.raises(KeyError):
        Evidence.key("destination_adgroup_id")


def test_the_engine_cannot_write_a_key_the_model_does_not_know() -> None:
    frame = pl.DataFrame({"clicks": [3], "cost": [1.5], "campaign_id": ["c"]})
    row = frame.select(evidence_struct("clicks", pl.col("cost").round(2))).to_dicts()[0]
    assert Evidence.from_json(row["evidence"]) == Evidence(clicks=3, cost=1.5)
    with pytest.raises(ValueError, match="cpc_7d"):
        evidence_struct("clicks", pl.col("cost").alias("cpc_7d"))
    with pytest.raises(ValueError, match="cost"):
        negate_in_struct("campaign_id", "cost")


def test_the_bulk_sheet_check_refuses_two_accounts_or_another_currency_before_any_file() -> None:
    """The Advertising page checks before it offers the download (the file is built on click)."""
    import polars as pl
    import pytest

    from amzinsight.bidding.bulk_sheet import check_bulk_sheet
    from amzinsight.errors import ConfigError

    def frame(*rows: tuple[str, str, str]) -> pl.DataFrame:
        return pl.DataFrame(
            [{"status": s, "profile_id": p, "currency": c} for s, p, c in rows],
            schema={"status": pl.String, "profile_id": pl.String, "currency": pl.String},
        )

    check_bulk_sheet(frame(("approved", "p1", "USD"), ("proposed", "p2", "CAD")), "USD")
    with pytest.raises(ConfigError, match="one profile at a time"):
        check_bulk_sheet(frame(("approved", "p1", "USD"), ("approved", "p2", "USD")), "USD")
    with pytest.raises(ConfigError, match="not USD"):
        check_bulk_sheet(frame(("approved", "p2", "CAD")), "USD")
