"""The Assistant page through AppTest: an empty store, a store built here with known numbers
(without an LLM: score, gaps, rules and how to configure one; with the fake LLM over HTTP:
streamed replies, tools, a checked proposal sent to Advertising, and errors as one sentence,
with no planted identifier in any request; the fake's default answer, tools then a proposal,
reviewed), and the demo store (read-only; with the fake LLM, a reviewed proposal)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from amzinsight_sandbox.llm import FakeLlm, start_fake_llm
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.listings import listing_content
from amzinsight.assistant.context import AsinContext, build_context
from amzinsight.bidding.queries import stored_recommendations
from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import bid_recommendations
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import Store, add_store, get_store
from app.components import as_text
from app.context import USER_INPUT_KEY
from tests.conftest import DEMO_SLUG
from tests.integration.test_listings import ASIN, END, START, insert_ads, insert_listing

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "assistant.py")
PLANTED_NAME = "Planted Kitchen Co"
PLANTED_SELLER = "A1PLANTEDSELLER9"
PLANTED_EMAIL = "owner.planted@example.org"
PLANTED_KEY = "sk-planted-page-key-42"


def open_page(query_asin: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if query_asin:
        at.query_params["asin"] = query_asin
    at.switch_page(PAGE).run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def tool_label(name: str, arguments: str) -> str:
    """A tool call's status label: its name and the model's arguments, shown as text."""
    return f"Tool: {as_text(name)}({as_text(arguments)})"


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chat_texts(at: AppTest) -> str:
    return " ".join(texts(message.markdown) for message in at.chat_message)


def in_march(at: AppTest) -> None:
    at.sidebar.selectbox(key="filters_preset").set_value("Custom").run()
    at.sidebar.date_input(key="filters_custom_range").set_value((START, END)).run()
    ok(at)


@pytest.fixture
def known_store(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, "plantedshop", PLANTED_NAME, ["US"], seller_id=PLANTED_SELLER)
    insert_listing(engine, store)
    insert_ads(engine, store)
    return store


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLlm]:
    with start_fake_llm() as server:
        monkeypatch.setenv("AMZ_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("AMZ_LLM_MODEL", "fake-model")
        monkeypatch.setenv("AMZ_LLM_API_KEY", PLANTED_KEY)
        monkeypatch.setenv("AMZ_LLM_TIMEOUT_SECONDS", "10")
        get_settings.cache_clear()
        yield server


def test_empty_store_names_the_syncs_that_fill_the_page(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    add_store(get_engine(migrated_database_url), slug="acme_us", name="Acme", country_codes=["US"])
    at = open_page()
    info = texts(at.info)
    assert "No listings for this marketplace yet" in info and "**Listings**" in info
    assert not at.chat_input


def test_without_an_llm_the_score_gaps_and_rules_show_and_it_says_how_to_configure(
    known_store: Store,
) -> None:
    at = open_page(query_asin=ASIN)
    in_march(at)
    assert at.selectbox(key="assistant_asin").value == ASIN
    shown = metrics(at)
    # title 12.5 + bullets 12 + description 10 + backend terms 15 + coverage 20 (test_assistant)
    assert shown["Listing score"] == "69.5 / 100"
    assert shown["Converting terms missing"] == "1 of 3"
    assert (shown["Rule errors"], shown["Rule warnings"]) == ("0", "2")
    assert "under 80 leaves room" in texts(at.warning)
    assert "3 of 5 bullet points are used" in texts(at.warning)
    (terms,) = [t for t in at.dataframe if "search term" in t.value.columns]
    assert terms.value["search term"].tolist() == [
        "gooseneck kettle",
        "tea maker",
        "barista pour over",
    ]
    assert terms.value["in listing"].tolist() == ["title", "missing", "backend terms"]
    info = texts(at.info)
    for variable in ("AMZ_LLM_BASE_URL", "AMZ_LLM_MODEL", "AMZ_LLM_API_KEY"):
        assert variable in info
    assert not at.chat_input

    # a range without ad data: no converting terms, and the coverage part leaves the score
    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    ok(at)
    shown = metrics(at)
    assert shown["Converting terms missing"] == "0 of 0"
    assert shown["Listing score"] == f"{49.5 / 70 * 100:.1f} / 100"
    assert "No converting search terms" in texts(at.info)


def test_with_the_fake_llm_replies_tools_proposal_and_errors(
    known_store: Store, fake: FakeLlm, migrated_database_url: str
) -> None:
    at = open_page(query_asin=ASIN)
    in_march(at)
    assert at.chat_input  # configured: the chat is there

    at.chat_input(key="assistant_prompt").set_value(f"[echo] hello, I am {PLANTED_EMAIL}").run()
    ok(at)
    assert "Hello from the fake model. You wrote 5 words." in chat_texts(at)
    assert fake.requests[-1]["stream"] is True

    at.chat_input(key="assistant_prompt").set_value("[tool] which rules?").run()
    ok(at)
    assert "The tool answered: {" in chat_texts(at)
    assert (tool_label("listing_rules", "{}"), "complete") in [
        (s.label, s.state) for s in at.status
    ]

    at.chat_input(key="assistant_prompt").set_value("[bad-tool-json]").run()
    ok(at)
    failed = [s.label for s in at.status if s.state == "error"]
    assert failed == [tool_label("search_term_history", '{"term": "tea maker"')]
    assert "not valid JSON" in texts(at.warning)

    at.chat_input(key="assistant_prompt").set_value("[proposal] please").run()
    ok(at)
    shown = metrics(at)
    assert shown["Score now"] == "69.5"
    assert shown["Score with the proposal"] == "100.0"
    assert "Repaired: Removed repeated words from the backend terms" in texts(at.info)
    assert "The proposal passes every listing rule checked." in texts(at.success)
    assert {b.label for b in at.get("download_button")} >= {"JSON", "TXT"}
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("anna")  # sending needs a name
    (send,) = [b for b in at.button if b.label.startswith("Send 2 keywords")]
    send.click().run()
    ok(at)
    assert "3 recommendations to approve are on the Advertising page." in texts(at.success)
    saved = stored_recommendations(get_engine(migrated_database_url), known_store.id)
    assert sorted(saved["kind"].to_list()) == ["harvest", "negative", "negative"]
    with get_engine(migrated_database_url).connect() as connection:
        senders = connection.execute(
            sa.select(bid_recommendations.c.evidence["sent_by"].astext).distinct()
        ).scalars()
        assert list(senders) == ["anna"]

    at.chat_input(key="assistant_prompt").set_value("[bad-proposal]").run()
    ok(at)
    assert "not valid JSON" in texts(at.error)

    at.chat_input(key="assistant_prompt").set_value("[429]").run()
    ok(at)
    assert as_text("rate-limiting requests (HTTP 429)") in texts(at.error)
    at.chat_input(key="assistant_prompt").set_value("[500]").run()
    ok(at)
    assert "failed with HTTP 500" in texts(at.error)

    # every request the page and its tools sent: no planted identifier, e-mail or key
    assert len(fake.requests) >= 10
    for text in fake.request_texts():
        for planted in (PLANTED_NAME, "plantedshop", PLANTED_SELLER, PLANTED_EMAIL, PLANTED_KEY):
            assert planted.lower() not in text.lower(), planted


def test_the_draft_button_asks_for_a_proposal_and_the_model_like_answer_is_reviewed(
    known_store: Store, fake: FakeLlm
) -> None:
    at = open_page(query_asin=ASIN)
    in_march(at)
    at.button(key="assistant_draft").click().run()
    ok(at)
    (question,) = [m for m in fake.requests[-1]["messages"] if m["role"] == "user"]
    assert question["content"].startswith("Propose a better listing")
    # the fake's default: both tools run against this store, then a proposal about this ASIN
    assert [(s.label, s.state) for s in at.status] == [
        (tool_label("asin_sales_summary", '{"days": 30}'), "complete"),
        (tool_label("search_term_history", '{"term": "tea maker"}'), "complete"),
    ]
    assert len(fake.requests) == 2 and fake.requests[-1]["messages"][-1]["role"] == "tool"
    assert "1 converting search term with orders is not in the listing (tea maker)" in (
        chat_texts(at)
    )
    shown = metrics(at)
    assert shown["Score now"] == "69.5"
    assert shown["Score with the proposal"] == "100.0"
    assert "The proposal passes every listing rule checked." in texts(at.success)
    (coverage,) = [t for t in at.dataframe if "after" in t.value.columns]
    after = dict(zip(coverage.value["term"], coverage.value["after"], strict=True))
    assert after["tea maker"] == "title"
    (send,) = [b.label for b in at.button if b.label.startswith("Send ")]
    assert send.startswith("Send 1 keyword")  # tea maker as an exact keyword


# --- the demo store (read-only) -------------------------------------------------------------------


def demo_context(url: str, index: int) -> AsinContext:
    """The context the page builds for the demo's index-th listed ASIN (first marketplace, the
    default last 30 days)."""
    engine = get_engine(url)
    store = get_store(engine, DEMO_SLUG)
    market = store.marketplaces[0]
    dates = date_range_for("Last 30 days", local_today(market.time_zone))
    content = listing_content(engine, store.id, (market.marketplace_id,))
    asin = content["asin"].unique(maintain_order=True).to_list()[index]
    return build_context(engine, store.id, (market.marketplace_id,), asin, dates.start, dates.end)


def test_demo_store_score_equals_the_context_and_a_link_picks_the_asin(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    expected = demo_context(demo_database_url, 1)
    second = expected.asin

    at = open_page(query_asin=second)
    assert at.selectbox(key="assistant_asin").value == second
    shown = metrics(at)
    assert expected.score.total is not None
    assert shown["Listing score"] == f"{expected.score.total:.1f} / 100"
    assert shown["Converting terms missing"] == (
        f"{len(expected.missing_terms)} of {len(expected.converting_terms)}"
    )
    assert "AMZ_LLM_BASE_URL" in texts(at.info)


def test_demo_store_with_the_fake_llm_shows_a_reviewed_proposal(
    demo_database_url: str, fake: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    expected = demo_context(demo_database_url, 0)
    asin = expected.asin

    at = open_page(query_asin=asin)
    at.button(key="assistant_draft").click().run()
    ok(at)

    labels = [(s.label.split("(")[0], s.state) for s in at.status]
    assert (f"Tool: {as_text('asin_sales_summary')}", "complete") in labels
    sales = next(m for m in fake.requests[-1]["messages"] if m["role"] == "tool")["content"]
    assert '"units_ordered"' in sales  # the tool read the demo's synced sales for this ASIN
    assert f"I looked at the last 30 days of {asin}" in chat_texts(at)
    shown = metrics(at)
    assert shown["Score now"] == f"{expected.score.total:.1f}"
    assert float(shown["Score with the proposal"]) >= expected.score.total
    checks = texts(at.success) + texts(at.warning) + texts(at.error)
    assert "The proposal passes every listing rule checked." in checks or "Still flagged" in checks
    assert {b.label for b in at.get("download_button")} >= {"JSON", "TXT"}
