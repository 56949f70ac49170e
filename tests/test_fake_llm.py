"""The fake OpenAI-compatible server, spoken to over HTTP by the real `openai` client: JSON and
SSE answers, streamed tool calls, 429 with retry-after, 500, and the bodies it records."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from amzinsight.sandbox.llm import FAKE_REPLY, FakeLlm, start_fake_llm


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
