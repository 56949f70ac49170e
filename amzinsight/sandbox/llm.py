"""A local fake of an OpenAI-compatible chat endpoint, so the assistant is testable offline.

POST /v1/chat/completions answers JSON, or Server-Sent Events when the body says
`"stream": true`. What it answers is scripted by a marker in the last user message:

- `[tool]`: a call of the `listing_rules` tool; once the tool's result comes back, a reply that
  quotes the start of it;
- `[sales]`: a call of `asin_sales_summary` with `{"days": 30}`, answered the same way;
- `[proposal]`: a reply holding a ```json block with `FakeLlm.proposal`;
- `[bad-proposal]`: a reply whose ```json block is not JSON;
- `[bad-tool-json]`: a tool call whose arguments are not JSON;
- `[429]`: HTTP 429 with `retry-after: 0`; `[500]`: HTTP 500; `[slow]`: sleeps `slow_seconds`;
- anything else: `Hello from the fake model.` plus the last user message's word count.

The model name `rate-limited` also answers 429. Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PROPOSAL: dict[str, Any] = {
    "title": "Acme Gooseneck Pour-Over Kettle 1.0 L with Thermometer, Stainless Steel, "
    "Matte Black, for Tea and Coffee",
    "bullets": [
        "PRECISE POUR: gooseneck spout for an even pour-over",
        "BUILT-IN THERMOMETER: brew at the right temperature",
        "STAY-COOL HANDLE: comfortable and safe",
        "1.0 L CAPACITY: enough for four cups",
        "WORKS ON GAS AND ELECTRIC HOBS",
    ],
    "description": "A gooseneck kettle for tea makers and pour-over coffee.",
    "backend_terms": "barista pour over café tea maker tea maker",
    "exact_keywords": [{"term": "tea maker", "reason": "2 orders at 21% ACoS, not in listing"}],
    "negative_keywords": [{"term": "cheap kettle", "reason": "12 clicks, no orders"}],
    "reasons": ["tea maker converts but the listing lacks it"],
}
FAKE_REPLY = "Hello from the fake model."


class FakeLlm:
    """The running fake: `base_url` for the client, `requests` as received, `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.proposal: dict[str, Any] = dict(DEFAULT_PROPOSAL)
        self.slow_seconds = 3.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{bound_port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="amzinsight-fake-llm",
            daemon=True,
        )

    def start(self) -> FakeLlm:
        self._thread.start()
        logger.info("Fake LLM listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLlm:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)

    def request_texts(self) -> list[str]:
        """Each captured body as JSON text, non-ASCII kept, for leak searches."""
        with self._lock:
            return [json.dumps(body, ensure_ascii=False) for body in self.requests]


def start_fake_llm(host: str = "127.0.0.1", port: int = 0) -> FakeLlm:
    """Serve the fake on host:port (0 = any free port) until `.stop()` (or use it in `with`)."""
    return FakeLlm(host, port).start()


def serve(host: str, port: int) -> int:
    """`amzinsight sandbox llm`: serve until Ctrl-C."""
    fake = start_fake_llm(host, port)
    print(f"Fake LLM: AMZ_LLM_BASE_URL={fake.base_url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


# --- the script -----------------------------------------------------------------------------


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                return " ".join(str(part.get("text", "")) for part in content)
            return str(content or "")
    return ""


def _answer(fake: FakeLlm, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, the message or error) for a request body."""
    messages = body.get("messages") or []
    text = _last_user_text(messages)
    if body.get("model") == "rate-limited" or "[429]" in text:
        return 429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}
    if "[500]" in text:
        return 500, {"error": {"message": "The server had an error", "type": "server_error"}}
    if "[slow]" in text:
        time.sleep(fake.slow_seconds)
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return 200, {"content": f"The tool answered: {str(last.get('content'))[:200]}"}
    if "[tool]" in text:
        return 200, _tool_call("listing_rules", "{}")
    if "[sales]" in text:
        return 200, _tool_call("asin_sales_summary", '{"days": 30}')
    if "[bad-tool-json]" in text:
        return 200, _tool_call("search_term_history", '{"term": "tea maker"')
    if "[bad-proposal]" in text:
        return 200, {"content": 'Here it is:\n```json\n{"title": "Kettle", "bullets": [\n```'}
    if "[proposal]" in text:
        block = json.dumps(fake.proposal, indent=2, ensure_ascii=False)
        return 200, {"content": f"My proposal:\n```json\n{block}\n```\nCheck it first."}
    return 200, {"content": f"{FAKE_REPLY} You wrote {len(text.split())} words."}


def _tool_call(name: str, arguments: str) -> dict[str, Any]:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{name}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ],
    }


def _completion(model: str, message: dict[str, Any]) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(model: str, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if message.get("tool_calls"):
        for index, call in enumerate(message["tool_calls"]):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            head = {"name": call["function"]["name"], "arguments": arguments[:half]}
            yield chunk(
                {"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                 "function": head}]}
            )  # fmt: skip
            rest = {"arguments": arguments[half:]}
            yield chunk({"tool_calls": [{"index": index, "function": rest}]})
        yield chunk({}, "tool_calls")
        return
    content = str(message.get("content") or "")
    for start in range(0, len(content), 12):
        yield chunk({"content": content[start : start + 12]})
    yield chunk({}, "stop")


def _handler_for(fake: FakeLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake llm: " + format, *args)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self._json(400, {"error": {"message": "the body is not JSON"}})
                return
            fake.record(body)
            status, answer = _answer(fake, body)
            if status != 200:
                self._json(status, answer, {"retry-after": "0"} if status == 429 else {})
                return
            model = str(body.get("model") or "fake")
            if not body.get("stream"):
                self._json(200, _completion(model, answer))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in _chunks(model, answer):
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _json(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
