"""The chat with any OpenAI-compatible endpoint (OpenAI, Azure-style gateways, vLLM, Ollama,
llama.cpp): streamed replies, tool calls run in a bounded loop, and every failure of the endpoint
turned into one sentence (`LlmError`).

Every request goes through `AssistantChat._send`, which passes the body through the anonymiser
right before the `openai` client sends it: the one door out of the intranet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import OpenAI

from amzinsight.assistant.anonymise import Anonymiser
from amzinsight.assistant.context import AsinContext
from amzinsight.assistant.tools import TOOLS, ToolCall, ToolRunner
from amzinsight.config import LlmSettings
from amzinsight.errors import AmzInsightError

MAX_TOOL_ROUNDS = 4
MAX_RETRIES = 1  # the client honours retry-after; more retries only delay the message
CONFIGURE_HINT = (
    "Set AMZ_LLM_BASE_URL (an OpenAI-compatible endpoint such as https://api.openai.com/v1 or "
    "http://localhost:11434/v1), AMZ_LLM_MODEL and AMZ_LLM_API_KEY, then restart the app."
)
SYSTEM_PROMPT = """You are a listing assistant for an Amazon seller's product.
You get the product's current listing, rating trend, the ad search terms that bring clicks and
orders (7-day attribution), the converting terms missing from the listing, Amazon rule findings
and a listing score. Use the tools to look up more data for this product when you need it.
Tie every suggestion to the numbers. When asked for a proposal, answer with one ```json block:
{"title": str, "bullets": [5 str], "description": str, "backend_terms": str,
 "exact_keywords": [{"term": str, "reason": str}],
 "negative_keywords": [{"term": str, "reason": str}], "reasons": [str]}
Rules: title <= 200 characters, no ! $ ? _ { } ^ ¬ ¦ or emoji, no word more than twice;
5 bullet points <= 500 characters each; description <= 2000 characters; backend terms
<= 249 bytes in UTF-8, no repeated words, no punctuation, no brand names of others."""


class LlmError(AmzInsightError):
    """The LLM endpoint timed out, refused, rate-limited or failed; the message says which."""


def llm_configured(settings: LlmSettings) -> bool:
    return bool(settings.base_url)


def llm_client(settings: LlmSettings) -> OpenAI:
    """An openai client for the configured endpoint (local servers often need no key)."""
    if not settings.base_url:
        raise LlmError(f"No LLM is configured. {CONFIGURE_HINT}")
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    return OpenAI(
        base_url=settings.base_url,
        api_key=key,
        timeout=settings.timeout_seconds,
        max_retries=MAX_RETRIES,
    )


@dataclass
class AssistantChat:
    """One ASIN's conversation: history in, text deltas and tool calls out."""

    client: OpenAI
    model: str
    anonymiser: Anonymiser
    context: AsinContext
    tools: ToolRunner | None = None
    max_rounds: int = MAX_TOOL_ROUNDS
    sent: list[dict[str, Any]] = field(default_factory=list)  # bodies as sent, for audits

    def system_message(self) -> dict[str, Any]:
        data = json.dumps(self.context.for_model(), ensure_ascii=False, default=str)
        return {"role": "system", "content": f"{SYSTEM_PROMPT}\n\nProduct data (JSON):\n{data}"}

    def complete(self, history: Sequence[dict[str, Any]]) -> str:
        """The whole reply at once (no streaming), after any tool calls."""
        return "".join(part for part in self._turn(history, stream=False) if isinstance(part, str))

    def stream(self, history: Sequence[dict[str, Any]]) -> Iterator[str | ToolCall]:
        """Text deltas as they arrive, and each tool call once it has run."""
        return self._turn(history, stream=True)

    def _turn(self, history: Sequence[dict[str, Any]], stream: bool) -> Iterator[str | ToolCall]:
        messages: list[dict[str, Any]] = [self.system_message(), *history]
        for _ in range(self.max_rounds + 1):
            text_parts: list[str] = []
            calls: dict[int, dict[str, str]] = {}
            for kind, payload in self._request(messages, stream):
                if kind == "text":
                    text_parts.append(payload)
                    yield payload
                else:
                    calls = payload
            if not calls:
                return
            messages.append(
                {
                    "role": "assistant",
                    "content": "".join(text_parts) or None,
                    "tool_calls": [
                        {
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": call["arguments"]},
                        }
                        for call in calls.values()
                    ],
                }
            )
            for call in calls.values():
                done = self._run_tool(call)
                yield done
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call["id"],
                        "content": json.dumps(done.result, ensure_ascii=False, default=str),
                    }
                )
        raise LlmError(
            f"The model was still calling tools after {self.max_rounds} rounds; ask it again "
            "more narrowly."
        )

    def _run_tool(self, call: dict[str, str]) -> ToolCall:
        if self.tools is None:
            message = "No tools are available in this chat."
            return ToolCall(
                call["id"], call["name"], call["arguments"], {"error": message}, message
            )
        return self.tools.run(call["id"], call["name"], call["arguments"])

    def _request(self, messages: list[dict[str, Any]], stream: bool) -> Iterator[tuple[str, Any]]:
        """("text", delta) items, then ("tools", {index: call}) when the model calls tools."""
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.tools is not None:
            body["tools"] = TOOLS
        try:
            response = self._send(body, stream)
            if not stream:
                message = response.choices[0].message
                if message.content:
                    yield "text", message.content
                if message.tool_calls:
                    yield (
                        "tools",
                        {
                            index: {
                                "id": call.id or f"call_{index}",
                                "name": call.function.name,
                                "arguments": call.function.arguments or "",
                            }
                            for index, call in enumerate(message.tool_calls)
                        },
                    )
                return
            calls: dict[int, dict[str, str]] = {}
            for chunk in response:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield "text", delta.content
                for part in delta.tool_calls or []:
                    call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = part.id or call["id"] or f"call_{part.index}"
                    if part.function is not None:
                        call["name"] += part.function.name or ""
                        call["arguments"] += part.function.arguments or ""
            if calls:
                yield "tools", calls
        except openai.APITimeoutError:
            raise LlmError(
                f"The LLM endpoint did not answer within {self.client.timeout} seconds; try "
                "again, or raise AMZ_LLM_TIMEOUT_SECONDS."
            ) from None
        except openai.RateLimitError:
            raise LlmError(
                "The LLM endpoint is rate-limiting requests (HTTP 429); wait a minute and try "
                "again."
            ) from None
        except openai.AuthenticationError:
            raise LlmError(
                "The LLM endpoint refused the API key (HTTP 401); check AMZ_LLM_API_KEY."
            ) from None
        except openai.APIStatusError as error:
            raise LlmError(
                f"The LLM endpoint failed with HTTP {error.status_code}; try again later or "
                "check the model name in AMZ_LLM_MODEL."
            ) from None
        except openai.APIConnectionError:
            raise LlmError(
                "The LLM endpoint cannot be reached; check AMZ_LLM_BASE_URL and the network."
            ) from None
        except openai.APIError as error:
            raise LlmError(f"The LLM endpoint sent an answer it could not use: {error}.") from None

    def _send(self, body: dict[str, Any], stream: bool) -> Any:
        """The one place a request leaves: anonymised and guarded right before sending."""
        prepared = self.anonymiser.prepare(body)
        self.sent.append(prepared)
        return self.client.chat.completions.create(**prepared, stream=stream)
