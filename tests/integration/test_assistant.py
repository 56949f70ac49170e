"""The listing assistant's core against real PostgreSQL and the fake LLM over HTTP: context and
score with numbers known in advance, rule checks and repairs (bytes, not characters), proposal
parsing, tool calls, errors as one sentence, keyword proposals saved as recommendations, and the
anonymisation test on a store whose names and ids are planted to be found."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa
from amzinsight_sandbox.llm import DEFAULT_PROPOSAL, FakeLlm, start_fake_llm
from sqlalchemy.engine import Engine

from amzinsight.assistant.anonymise import Anonymiser, LeakError
from amzinsight.assistant.chat import AssistantChat, LlmError, llm_client
from amzinsight.assistant.context import AsinContext, build_context
from amzinsight.assistant.proposal import (
    KeywordIdea,
    Proposal,
    ProposalError,
    extract_proposal,
    repair_proposal,
    review_proposal,
    send_keyword_proposals,
    trim_backend_terms,
)
from amzinsight.assistant.tools import ToolCall, ToolRunner
from amzinsight.bidding.queries import stored_recommendations
from amzinsight.bidding.store import save_recommendations
from amzinsight.config import LlmSettings, Settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import ads_ad_groups, ads_campaigns, catalog_items, listings
from amzinsight.rules.listing_score import listing_score
from amzinsight.rules.listings import backend_terms_bytes, check_listing
from amzinsight.stores import Store, add_store
from tests.integration.test_listings import (
    ASIN,
    BACKEND,
    CATALOG_TITLE,
    END,
    START,
    US,
    insert_ads,
    insert_listing,
)

pytestmark = [pytest.mark.postgres]


# --- rule checks and repairs (pure) -----------------------------------------------------------


def test_backend_terms_are_cut_at_249_bytes_at_a_word_boundary_not_inside_a_character() -> None:
    terms = " ".join(["café"] * 40 + ["crème"] * 20)  # é and è are 2 bytes each
    assert len(terms) < 400 and backend_terms_bytes(terms) > 249
    trimmed = trim_backend_terms(terms)
    assert backend_terms_bytes(trimmed) <= 249
    assert terms.startswith(trimmed) and terms[len(trimmed)] == " "  # a whole word was kept
    assert all(word in {"café", "crème"} for word in trimmed.split())
    # 248 bytes of ASCII then a 3-byte €: the € would end at byte 251, so the word goes
    long_word = "a" * 248 + "€"
    assert trim_backend_terms(long_word) == "a" * 248
    assert trim_backend_terms("tea " * 10) == "tea " * 10  # under the limit: unchanged


def test_repair_removes_duplicates_punctuation_and_emoji_and_cuts_backend_terms() -> None:
    words = [f"word{n}" for n in range(60)]  # 60 distinct words, 412 bytes with spaces
    proposal = Proposal(
        title="Kettle! ⭐ Gooseneck",
        bullets=("Fast 🚀 boil",),
        description="Fine.",
        backend_terms="tea, tea maker; " + " ".join(words),
    )
    repaired, repairs = repair_proposal(proposal)
    assert repaired.title == "Kettle Gooseneck"
    assert repaired.bullets == ("Fast boil",)
    assert repaired.backend_terms is not None
    assert repaired.backend_terms.startswith("tea maker word0 word1")
    assert backend_terms_bytes(repaired.backend_terms) <= 249
    assert len(repairs) == 5
    assert any("bytes (limit 249)" in repair for repair in repairs)
    # what repairs cannot fix is flagged by the checks
    flagged = check_listing("Kettle " * 40, ["b" * 501] * 6, None, repaired.backend_terms)
    assert {f.rule for f in flagged} >= {"title_too_long", "bullet_too_long", "bullets_count"}


def test_listing_score_parts_and_unknown_parts_left_out() -> None:
    five = [f"Bullet {n}" for n in range(5)]
    title = "Gooseneck kettle with thermometer " * 3  # 102 characters, no finding? repeats
    score = listing_score(title, five, "text", "tea", [("gooseneck kettle", 3), ("tea", 1)])
    assert score.parts["title"] == 0.0  # kettle 3 times: an error
    assert score.parts["bullets"] == 20.0
    assert score.parts["description"] == 10.0
    assert score.parts["backend_terms"] == 15.0
    assert score.parts["coverage"] == 30.0
    assert score.total == 75.0
    unknown = listing_score(None, None, None, "tea", [])
    assert unknown.parts["title"] is None and unknown.parts["coverage"] is None
    assert unknown.total == 100.0  # only the backend terms are known, and they pass
    assert listing_score(None, None, None, None, [("x", 1)]).total is None


def test_proposal_parsing_and_malformed_json_gives_a_clear_message() -> None:
    reply = "Here:\n```json\n" + json.dumps(DEFAULT_PROPOSAL) + "\n```\nDone."
    proposal = extract_proposal(reply)
    assert proposal is not None
    assert proposal.exact_keywords[0].term == "tea maker"
    assert proposal.negative_keywords[0].term == "cheap kettle"
    assert extract_proposal("No block here.") is None
    with pytest.raises(ProposalError, match="not valid JSON"):
        extract_proposal('```json\n{"title": "x", \n```')
    with pytest.raises(ProposalError, match="bullets is not a list"):
        extract_proposal('```json\n{"bullets": 3}\n```')


# --- anonymiser (pure) ------------------------------------------------------------------------


def test_anonymiser_scrubs_and_the_guard_refuses_what_is_left() -> None:
    anonymiser = Anonymiser(["Planted Kitchen Co", "plantshop", "A1PLANTED9"], ["sk-s3cret-x"])
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": "planted kitchen co (A1PLANTED9) at 12 Baker Street, mail "
                "jo@example.com, order 111-2223334-5556667, key sk-s3cret-x, slug plantshop",
            }
        ],
        "buyer_email": "jo@example.com",
    }
    prepared = anonymiser.prepare(body)
    text = json.dumps(prepared)
    assert "buyer_email" not in prepared
    for planted in ("planted kitchen", "A1PLANTED9", "Baker", "jo@", "111-2223334", "s3cret"):
        assert planted.lower() not in text.lower(), planted
    assert "[store]" in text and "[address]" in text and "[order id]" in text
    assert prepared["model"] == "m"
    with pytest.raises(LeakError, match="configured secret"):
        anonymiser.guard({"x": ["nested sk-s3cret-x"]})
    with pytest.raises(LeakError, match="order id"):
        anonymiser.guard("order 111-2223334-5556667")
    with pytest.raises(LeakError, match="name, slug or seller id"):
        anonymiser.guard({"PLANTSHOP": 1})


# --- the database -------------------------------------------------------------------------------


@pytest.fixture
def engine(migrated_database_url: str) -> Engine:
    return get_engine(migrated_database_url)


@pytest.fixture
def store(engine: Engine) -> Store:
    return add_store(engine, slug="acme_us", name="Acme Shop", country_codes=["US", "CA"])


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    with start_fake_llm() as server:
        yield server


def known_context(engine: Engine, store: Store) -> AsinContext:
    insert_listing(engine, store)
    insert_ads(engine, store)
    return build_context(engine, store.id, (US,), ASIN, START, END)


def test_context_holds_the_listing_terms_and_score_with_known_numbers(
    engine: Engine, store: Store
) -> None:
    context = known_context(engine, store)
    assert context.title == CATALOG_TITLE
    assert context.bullets == ["Precise pour spout", "Built-in thermometer", "Stay-cool handle"]
    assert context.description == "d" * 120
    assert context.backend_terms == BACKEND
    assert context.price == Decimal("39.99") and context.currency == "USD"
    terms = {t.term: t for t in context.converting_terms}
    assert set(terms) == {"gooseneck kettle", "tea maker", "barista pour over"}
    assert (terms["gooseneck kettle"].orders_7d, terms["gooseneck kettle"].clicks) == (3, 15)
    assert terms["tea maker"].acos_7d == round(5.30 / 45.00, 4)
    assert [t.term for t in context.missing_terms] == ["tea maker"]
    # title 55 characters: a warning, half of 25; 3 of 5 bullets: 12; description 10; backend
    # terms 15; coverage: 4 of 6 orders (gooseneck 3 + barista 1; tea maker 2 missing) of 30
    assert context.score.parts == {
        "title": 12.5,
        "bullets": 12.0,
        "description": 10.0,
        "backend_terms": 15.0,
        "coverage": 20.0,
    }
    assert context.score.total == 69.5
    data = context.for_model()
    assert data["converting_terms_missing_from_listing"] == ["tea maker"]
    assert data["listing"]["price"] == "39.99 USD"


def test_review_of_a_proposal_diffs_and_rescores(engine: Engine, store: Store) -> None:
    context = known_context(engine, store)
    proposal = extract_proposal("```json\n" + json.dumps(DEFAULT_PROPOSAL) + "\n```")
    assert proposal is not None
    review = review_proposal(proposal, context)
    assert review.proposal.backend_terms == "barista pour over café tea maker"  # duplicates out
    assert "Removed repeated words from the backend terms (each counts once)." in review.repairs
    diff = {row["field"]: row for row in review.diff}
    assert diff["title"]["current"] == CATALOG_TITLE and diff["title"]["changed"]
    assert diff["bullet 5"]["current"] is None and diff["bullet 5"]["changed"]
    coverage = {row["term"]: (row["before"], row["after"]) for row in review.coverage}
    assert coverage["tea maker"] == ("missing", "backend terms")  # "maker" only there
    assert review.score_before.total == 69.5
    # the proposal: 111-character title without findings, 5 bullets, description, terms, and
    # every converting term held: the full 100
    assert review.score_after.total == 100.0
    assert json.loads(review.to_json())["score_after"] == 100.0
    assert "Exact keyword: tea maker" in review.to_text()


def test_keyword_proposals_become_proposed_recommendations_once(
    engine: Engine, store: Store
) -> None:
    insert_ads(engine, store)
    proposal = extract_proposal("```json\n" + json.dumps(DEFAULT_PROPOSAL) + "\n```")
    assert proposal is not None
    today = date(2026, 3, 20)
    saved = send_keyword_proposals(
        engine, store.id, (US,), ASIN, proposal, START, END, today, actor="tester"
    )
    assert saved == 3  # tea maker as exact, cheap kettle negated in g1 and g2
    assert (
        send_keyword_proposals(
            engine, store.id, (US,), ASIN, proposal, START, END, today, actor="tester"
        )
        == 0
    )
    shown = stored_recommendations(engine, store.id)
    assert shown.height == 3
    assert set(shown["status"]) == {"proposed"}
    assert shown.filter(pl.col("kind") == "harvest")["search_term"].to_list() == ["tea maker"]
    negatives = shown.filter(pl.col("kind") == "negative")
    assert sorted(negatives["ad_group_id"].to_list()) == ["g1", "g2"]
    assert set(negatives["match_type"]) == {"NEGATIVE_EXACT"}
    assert all(reason.startswith("From the listing assistant for") for reason in shown["reason"])
    # no ad groups for the ASIN (the CA profile has none): nothing saved
    assert (
        send_keyword_proposals(
            engine, store.id, ("A2EUQ1WTGCTBG2",), ASIN, proposal, START, END, today, actor="tester"
        )
        == 0
    )


def _bidder_rec(entity_id: str) -> dict[str, object]:
    return {
        "profile_id": "p1", "kind": "bid", "entity_id": entity_id, "campaign_id": "c1",
        "ad_group_id": "g1", "target_id": entity_id, "search_term": None, "match_type": "EXACT",
        "current_bid": Decimal("0.50"), "recommended_bid": Decimal("0.60"), "currency": "USD",
        "target_acos": Decimal("0.3"), "reason": "r", "evidence": "{}",
    }  # fmt: skip


def test_recomputing_the_bidder_keeps_the_assistants_keyword_proposals(
    engine: Engine, store: Store
) -> None:
    """A recompute replaces only the bidder's own proposals of the day (it once deleted the
    keywords the Assistant had sent that day: 3 proposals before, 0 after)."""
    insert_ads(engine, store)
    proposal = extract_proposal("```json\n" + json.dumps(DEFAULT_PROPOSAL) + "\n```")
    assert proposal is not None
    today = date(2026, 3, 20)
    assert (
        send_keyword_proposals(
            engine, store.id, (US,), ASIN, proposal, START, END, today, actor="tester"
        )
        == 3
    )

    save_recommendations(engine, store.id, pl.DataFrame([_bidder_rec("t1")]), today)
    # the next recompute no longer makes t1's: that proposal goes, the Assistant's stay
    save_recommendations(engine, store.id, pl.DataFrame([_bidder_rec("t2")]), today)

    shown = stored_recommendations(engine, store.id)
    by_source = dict(shown.group_by("source").agg(pl.col("target_id")).iter_rows())
    assert by_source["bidder"] == ["t2"]
    assert len(by_source["assistant"]) == 3
    assert set(shown.filter(pl.col("source") == "assistant")["kind"]) == {"harvest", "negative"}


def test_tools_answer_with_data_or_a_clear_error(engine: Engine, store: Store) -> None:
    insert_listing(engine, store)
    insert_ads(engine, store)
    runner = ToolRunner(engine, store.id, (US,), ASIN, date(2026, 3, 31))
    history = runner.run("c1", "search_term_history", '{"term": "Gooseneck Kettle"}')
    assert history.error is None
    # the last 90 days: 2026-02-01 (week of Monday 01-26), then 03-10 and 03-11 (week of
    # Monday 03-09); g1's rows only: g9 is another ASIN's ad group
    assert history.result["weeks"] == [
        {
            "week": "2026-01-26",
            "clicks": 7,
            "orders_7d": 2,
            "spend": "3.00",
            "sales_7d": "50.00",
            "acos_7d": 0.06,
            "currency": "USD",
        },
        {
            "week": "2026-03-09",
            "clicks": 15,
            "orders_7d": 3,
            "spend": "7.50",
            "sales_7d": "90.00",
            "acos_7d": 0.0833,
            "currency": "USD",
        },
    ]
    bad = runner.run("c2", "search_term_history", '{"term": "tea')
    assert bad.error is not None and "not valid JSON" in bad.error
    assert runner.run("c3", "nope", "{}").error == (
        "There is no tool 'nope': use search_term_history, asin_sales_summary, listing_rules."
    )
    assert "must be between" in (runner.run("c4", "asin_sales_summary", '{"days": 0}').error or "")
    summary = runner.run("c5", "asin_sales_summary", '{"days": 7}').result
    assert summary["note"].startswith("no sales and traffic rows")  # unknown, not zero
    assert "rules" in runner.run("c6", "listing_rules", "").result


# --- the chat against the fake endpoint --------------------------------------------------------


def chat_for(
    fake: FakeLlm, engine: Engine, store: Store, context: AsinContext, timeout: float = 10
) -> AssistantChat:
    settings = LlmSettings(base_url=fake.base_url, model="fake-model", timeout_seconds=timeout)
    return AssistantChat(
        client=llm_client(settings),
        model="fake-model",
        anonymiser=Anonymiser.for_store(store, Settings()),
        context=context,
        tools=ToolRunner(engine, store.id, (US,), ASIN, END),
    )


def test_streamed_reply_and_non_streamed_reply(fake: FakeLlm, engine: Engine, store: Store) -> None:
    chat = chat_for(fake, engine, store, known_context(engine, store))
    parts = list(chat.stream([{"role": "user", "content": "[echo] hi there"}]))
    assert len(parts) > 2 and all(isinstance(part, str) for part in parts)
    assert "".join(parts) == "Hello from the fake model. You wrote 3 words."
    assert chat.complete([{"role": "user", "content": "[echo] a b"}]).endswith("You wrote 3 words.")
    first = fake.requests[0]
    assert first["stream"] is True and not fake.requests[1].get("stream")
    assert first["messages"][0]["role"] == "system"
    assert "tea maker" in first["messages"][0]["content"]  # the missing term is in the context
    assert [tool["function"]["name"] for tool in first["tools"]] == [
        "search_term_history",
        "asin_sales_summary",
        "listing_rules",
    ]


def test_by_default_the_fake_model_calls_the_tools_then_proposes_from_the_listing(
    fake: FakeLlm, engine: Engine, store: Store
) -> None:
    context = known_context(engine, store)
    chat = chat_for(fake, engine, store, context)
    question = [{"role": "user", "content": "How can this listing sell more?"}]

    parts = list(chat.stream(question))

    calls = [part for part in parts if isinstance(part, ToolCall)]
    assert [(call.name, json.loads(call.arguments)) for call in calls] == [
        ("asin_sales_summary", {"days": 30}),
        ("search_term_history", {"term": "tea maker"}),  # the converting term the listing lacks
    ]
    assert all(call.error is None for call in calls)
    assert len(fake.requests) == 2  # the tool round, then the answer
    assert [m["role"] for m in fake.requests[1]["messages"][-3:]] == ["assistant", "tool", "tool"]
    text = "".join(part for part in parts if isinstance(part, str))
    assert text.startswith(f"I looked at the last 30 days of {ASIN}")
    proposal = extract_proposal(text)
    assert proposal is not None
    assert proposal.title == f"{CATALOG_TITLE}, Tea Maker, Barista Pour Over"
    assert proposal.backend_terms == f"{BACKEND} tea maker"
    assert [k.term for k in proposal.exact_keywords] == ["tea maker"]
    assert proposal.negative_keywords == ()
    assert proposal.reasons[-1] == "tea maker over 1 week: 10 clicks, 2 orders (7-day)"
    assert "1 converting search term with orders is not in the listing (tea maker)" in text
    review = review_proposal(proposal, context)
    assert review.findings == [] and review.repairs == []  # it passes the page's checks
    coverage = {row["term"]: (row["before"], row["after"]) for row in review.coverage}
    assert coverage["tea maker"] == ("missing", "title")
    assert review.score_before.total == 69.5 and review.score_after.total == 100.0

    # not streamed: the same tool round and the same proposal
    assert extract_proposal(chat.complete(question)) == proposal
    assert len(fake.requests) == 4 and not fake.requests[3].get("stream")


def test_a_tool_call_runs_and_its_result_goes_back_to_the_model(
    fake: FakeLlm, engine: Engine, store: Store
) -> None:
    chat = chat_for(fake, engine, store, known_context(engine, store))
    parts = list(chat.stream([{"role": "user", "content": "[tool] which rules?"}]))
    calls = [part for part in parts if isinstance(part, ToolCall)]
    assert [call.name for call in calls] == ["listing_rules"] and calls[0].error is None
    text = "".join(part for part in parts if isinstance(part, str))
    assert text.startswith('The tool answered: {"rules": [{"code": "title_missing"')
    assert len(fake.requests) == 2
    tool_message = fake.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_listing_rules"


def test_malformed_tool_arguments_reach_the_model_as_an_error_not_a_traceback(
    fake: FakeLlm, engine: Engine, store: Store
) -> None:
    chat = chat_for(fake, engine, store, known_context(engine, store))
    parts = list(chat.stream([{"role": "user", "content": "[bad-tool-json]"}]))
    (call,) = [part for part in parts if isinstance(part, ToolCall)]
    assert call.error is not None and "not valid JSON" in call.error
    assert "not valid JSON" in "".join(part for part in parts if isinstance(part, str))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("[429]", "rate-limiting requests (HTTP 429)"),
        ("[500]", "failed with HTTP 500"),
        ("[slow]", "did not answer within 0.5 seconds"),
    ],
)
def test_endpoint_failures_end_in_one_sentence(
    fake: FakeLlm, engine: Engine, store: Store, message: str, expected: str
) -> None:
    fake.slow_seconds = 2.0
    chat = chat_for(fake, engine, store, known_context(engine, store), timeout=0.5)
    with pytest.raises(LlmError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        list(chat.stream([{"role": "user", "content": message}]))


def test_unreachable_endpoint_and_no_configuration(engine: Engine, store: Store) -> None:
    with pytest.raises(LlmError, match="AMZ_LLM_BASE_URL"):
        llm_client(LlmSettings())
    settings = LlmSettings(base_url="http://127.0.0.1:9/v1", timeout_seconds=2)
    chat = AssistantChat(
        llm_client(settings), "m", Anonymiser([]), build_context(engine, store.id, (US,), ASIN,
        START, END)
    )  # fmt: skip
    with pytest.raises(LlmError, match="cannot be reached"):
        chat.complete([{"role": "user", "content": "hi"}])


# --- anonymisation on a store with planted names and ids ------------------------------------------

PLANTED_NAME = "Planted Kitchen Co"
PLANTED_SLUG = "plantedshop"
PLANTED_SELLER = "A1PLANTEDSELLER9"
PLANTED_EMAIL = "owner.planted@example.org"
PLANTED_ORDER = "113-4567890-1234567"
PLANTED_ADDRESS = "42 Baker Street"
PLANTED_SECRET = "sk-planted-secret-7f3a9"


def test_no_request_holds_the_planted_names_ids_or_secrets(
    fake: FakeLlm, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_LLM_API_KEY", PLANTED_SECRET)
    store = add_store(engine, PLANTED_SLUG, PLANTED_NAME, ["US", "CA"], seller_id=PLANTED_SELLER)
    insert_listing(engine, store)
    insert_ads(engine, store)
    with engine.begin() as connection:
        connection.execute(
            sa.update(catalog_items)
            .where(catalog_items.c.asin == ASIN, catalog_items.c.marketplace_id == US)
            .values(
                item_name=f"{PLANTED_NAME} Gooseneck Kettle by {PLANTED_SLUG}",
                bullet_points=[
                    f"Sold by seller {PLANTED_SELLER}",
                    f"Visit us at {PLANTED_ADDRESS}, Springfield",
                    f"Questions: {PLANTED_EMAIL}",
                ],
                description=f"Order {PLANTED_ORDER} shipped. Key {PLANTED_SECRET}.",
            )
        )
        connection.execute(
            sa.update(listings)
            .where(listings.c.asin == ASIN)
            .values(backend_search_terms=f"kettle {PLANTED_ORDER} {PLANTED_SLUG}")
        )
    context = build_context(engine, store.id, (US,), ASIN, START, END)
    assert PLANTED_NAME in (context.title or "")  # planted where the context reads it
    settings = Settings()
    assert PLANTED_SECRET in settings.secret_values()
    fake.proposal = dict(DEFAULT_PROPOSAL, title=f"{PLANTED_NAME} kettle {PLANTED_EMAIL}")
    chat = AssistantChat(
        client=llm_client(settings.llm.model_copy(update={"base_url": fake.base_url})),
        model="fake-model",
        anonymiser=Anonymiser.for_store(store, settings),
        context=context,
        tools=ToolRunner(engine, store.id, (US,), ASIN, END),
    )
    history: list[dict[str, str]] = []
    for message in (
        f"I am {PLANTED_NAME}, mail {PLANTED_EMAIL}",
        "[tool] rules please",
        "[sales] how did it sell?",
        f"[proposal] for order {PLANTED_ORDER} at {PLANTED_ADDRESS}",
    ):
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": chat.complete(history)})
    assert len(fake.requests) == 7  # four turns, three of them with a tool round
    sent = fake.request_texts()
    for planted in (
        PLANTED_NAME,
        PLANTED_SLUG,
        PLANTED_SELLER,
        PLANTED_EMAIL,
        PLANTED_ORDER,
        PLANTED_ADDRESS,
        PLANTED_SECRET,
        "Baker Street",
        "planted@",
    ):
        for text in sent:
            assert planted.lower() not in text.lower(), planted
    assert "Gooseneck Kettle" in sent[0]  # the product itself still goes


def test_an_exact_keyword_goes_to_the_manual_ad_group_at_its_default_bid(
    engine: Engine, store: Store
) -> None:
    insert_ads(engine, store)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(ads_campaigns).values(
                store_id=store.id, profile_id="p1", campaign_id="c1", targeting_type="MANUAL"
            )
        )
        connection.execute(
            sa.insert(ads_ad_groups),
            [
                {"store_id": store.id, "profile_id": "p1", "campaign_id": "c1",
                 "ad_group_id": "g1", "default_bid": None},  # no bid: not a destination
                {"store_id": store.id, "profile_id": "p1", "campaign_id": "c1",
                 "ad_group_id": "g2", "default_bid": Decimal("0.75")},
            ],
        )  # fmt: skip
    proposal = Proposal(None, None, None, None, exact_keywords=(KeywordIdea("tea maker", "x"),))
    assert (
        send_keyword_proposals(
            engine, store.id, (US,), ASIN, proposal, START, END, END, actor="tester"
        )
        == 1
    )
    (row,) = stored_recommendations(engine, store.id).to_dicts()
    assert (row["kind"], row["match_type"], row["recommended_bid"]) == (
        "harvest",
        "EXACT",
        Decimal("0.75"),
    )
    evidence = json.loads(row["evidence"]) if isinstance(row["evidence"], str) else row["evidence"]
    assert evidence["destination_ad_group_id"] == "g2"
    assert [group["ad_group_id"] for group in evidence["negate_in"]] == ["g1"]
    assert row["generated_for"] == END  # no recommendations yet: dated the day given
