"""The fake OpenAI-compatible server, spoken to over HTTP by the real `openai` client: JSON and
SSE answers, streamed tool calls, 429 with retry-after, 500, the bodies it records, and its
default on a chat about an ASIN: the assistant's tools first, then a proposal from the data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from amzinsight_sandbox.llm import FAKE_REPLY, FakeLlm, start_fake_llm
from openai import OpenAI

from amzinsight.assistant.proposal import extract_proposal
from amzinsight.assistant.tools import TOOLS


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    with start_fake_llm() as server:
        yield server


def client(fake: FakeLlm, retries: int = 1) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key="test-key", timeout=10, max_retries=retries)


def ask(text: str, model: str = "fake-model") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def test_non_streaming_reply_and_recorded_body(fake: FakeLlm) -> None:
    answer = client(fake).chat.completions.create(**ask("two words"))
    assert answer.choices[0].message.content == f"{FAKE_REPLY} You wrote 2 words."
    assert answer.choices[0].finish_reason == "stop"
    assert fake.requests == [ask("two words")]
    assert json.loads(fake.request_texts()[0])["messages"][0]["content"] == "two words"


def test_streaming_reply_arrives_in_several_chunks(fake: FakeLlm) -> None:
    chunks = list(client(fake).chat.completions.create(**ask("one two three"), stream=True))
    parts = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(parts) > 2
    assert "".join(parts) == f"{FAKE_REPLY} You wrote 3 words."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert fake.requests[0]["stream"] is True


def test_tool_call_streamed_in_pieces_then_an_answer_quoting_the_result(fake: FakeLlm) -> None:
    chunks = list(client(fake).chat.completions.create(**ask("[sales] please"), stream=True))
    pieces = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert len(pieces) == 2
    assert pieces[0][0].function.name == "asin_sales_summary"
    arguments = "".join(p[0].function.arguments or "" for p in pieces)
    assert json.loads(arguments) == {"days": 30}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    follow_up = ask("[sales] please")
    follow_up["messages"] += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_asin_sales_summary",
                    "type": "function",
                    "function": {"name": "asin_sales_summary", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_asin_sales_summary", "content": '{"units": 7}'},
    ]
    answer = client(fake).chat.completions.create(**follow_up)
    assert answer.choices[0].message.content == 'The tool answered: {"units": 7}'


def test_malformed_tool_arguments_are_sent_as_they_are(fake: FakeLlm) -> None:
    answer = client(fake).chat.completions.create(**ask("[bad-tool-json]"))
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "search_term_history"
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


def test_429_honours_retry_after_then_raises(fake: FakeLlm) -> None:
    with pytest.raises(openai.RateLimitError):
        client(fake, retries=1).chat.completions.create(**ask("hi", model="rate-limited"))
    assert len(fake.requests) == 2  # the first try and one retry


def test_500_is_a_server_error(fake: FakeLlm) -> None:
    with pytest.raises(openai.InternalServerError):
        client(fake, retries=0).chat.completions.create(**ask("[500]"))
    assert len(fake.requests) == 1


def test_proposal_reply_holds_the_proposal_as_a_json_block(fake: FakeLlm) -> None:
    fake.proposal = {"title": "Näive kettle €"}
    answer = client(fake).chat.completions.create(**ask("[proposal]"))
    content = answer.choices[0].message.content or ""
    block = content.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == {"title": "Näive kettle €"}


# --- the default: answering like a model on the assistant's chat about an ASIN ------------------

PRODUCT = {
    "asin": "B0TESTKTL1",
    "listing": {
        "title": "Acme Gooseneck Kettle, 1.0 L",
        "bullets": ["Precise pour spout", "Built-in thermometer"],
        "description": "A kettle for pour-over coffee. It keeps its heat.",
        "backend_search_terms": "barista pour over kettle",
        "brand": "Acme",
    },
    "converting_search_terms": [
        {"term": "gooseneck kettle", "orders_7d": 3, "clicks": 15, "acos_7d": 0.08},
        {"term": "tea maker", "orders_7d": 2, "clicks": 10, "acos_7d": 0.12},
        {"term": "electric kettle", "orders_7d": 1, "clicks": 30, "acos_7d": 1.4},
    ],
    "converting_terms_missing_from_listing": ["tea maker", "electric kettle"],
    "rule_findings": [],
}


def product_chat(text: str) -> dict:
    system = 'You are a listing assistant.\n{"title": str, ...}\n\nProduct data (JSON):\n'
    return {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": system + json.dumps(PRODUCT)},
            {"role": "user", "content": text},
        ],
        "tools": TOOLS,
    }


def with_tool_results(body: dict, calls: list, results: list[dict]) -> dict:
    body = json.loads(json.dumps(body))
    body["messages"].append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.function.name, "arguments": c.function.arguments}}
                for c in calls
            ],
        }
    )  # fmt: skip
    for call, result in zip(calls, results, strict=True):
        body["messages"].append(
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
        )
    return body


def test_a_chat_about_an_asin_calls_the_tools_then_proposes_streamed(fake: FakeLlm) -> None:
    body = product_chat("How can it sell more?")
    chunks = list(client(fake).chat.completions.create(**body, stream=True))
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for part in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": part.id, "name": "", "arguments": ""})
            call["name"] += part.function.name or ""
            call["arguments"] += part.function.arguments or ""
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("asin_sales_summary", {"days": 30}),
        ("search_term_history", {"term": "tea maker"}),  # the best-selling missing term
    ]

    first = client(fake).chat.completions.create(**body)  # the same, not streamed
    made = first.choices[0].message.tool_calls or []
    summary = {"days": 30, "units_ordered": 41, "ordered_product_sales": "1599.59",
               "currency": "USD", "unit_session_percentage": 12.5}  # fmt: skip
    history = {"term": "tea maker", "weeks": [{"clicks": 6, "orders_7d": 1},
                                               {"clicks": 4, "orders_7d": 1}]}  # fmt: skip
    follow_up = with_tool_results(body, made, [summary, history])
    chunks = list(client(fake).chat.completions.create(**follow_up, stream=True))
    parts = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(parts) > 10 and chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(parts)
    assert "Last 30 days: 41 units, 1599.59 USD ordered sales, 12.5% unit session" in text

    proposal = extract_proposal(text)
    assert proposal is not None
    assert proposal.title == "Acme Gooseneck Kettle, 1.0 L, Tea Maker, Electric Kettle"
    assert proposal.bullets is not None and len(proposal.bullets) == 5
    assert proposal.bullets[2].startswith("TEA MAKER: ")
    assert proposal.backend_terms == "barista pour over kettle tea maker electric kettle"
    assert [k.term for k in proposal.exact_keywords] == ["tea maker", "electric kettle"]
    assert [k.term for k in proposal.negative_keywords] == ["electric kettle"]  # ACoS 140%
    assert "tea maker over 2 weeks: 10 clicks, 2 orders (7-day)" in proposal.reasons
    # not streamed: the same answer in one message
    again = client(fake).chat.completions.create(**follow_up).choices[0].message.content
    assert again == text


def test_without_tools_offered_the_model_proposes_at_once(fake: FakeLlm) -> None:
    body = product_chat("Draft a proposal")
    del body["tools"]
    answer = client(fake).chat.completions.create(**body).choices[0].message
    assert not answer.tool_calls
    assert extract_proposal(answer.content or "") is not None


def test_a_script_marker_wins_over_the_model_like_answer(fake: FakeLlm) -> None:
    answer = client(fake).chat.completions.create(**product_chat("[echo] one two"))
    assert answer.choices[0].message.content == f"{FAKE_REPLY} You wrote 3 words."
    answer = client(fake).chat.completions.create(**product_chat("[tool] rules"))
    assert [c.function.name for c in answer.choices[0].message.tool_calls or []] == [
        "listing_rules"
    ]
