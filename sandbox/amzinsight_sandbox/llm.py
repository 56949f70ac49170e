"""A local fake of an OpenAI-compatible chat endpoint, so the assistant is testable offline.

POST /v1/chat/completions answers JSON, or Server-Sent Events when the body says
`"stream": true`. By default it answers like a model would on the assistant's chat about an
ASIN (a system message holding the product data as JSON): it first calls the tools the request
offers (`asin_sales_summary` for 30 days, `search_term_history` for the top converting term the
listing misses), then replies with a short explanation and a ```json proposal built from the
listing and search terms it was sent (`model_reply`). A marker in the last user message scripts
the answer instead:

- `[tool]`: a call of the `listing_rules` tool; once the tool's result comes back, a reply that
  quotes the start of it;
- `[sales]`: a call of `asin_sales_summary` with `{"days": 30}`, answered the same way;
- `[proposal]`: a reply holding a ```json block with `FakeLlm.proposal`;
- `[bad-proposal]`: a reply whose ```json block is not JSON;
- `[bad-tool-json]`: a tool call whose arguments are not JSON;
- `[429]`: HTTP 429 with `retry-after: 0`; `[500]`: HTTP 500; `[slow]`: sleeps `slow_seconds`
  (then answers as without it);
- `[echo]`, or a request without product data: `Hello from the fake model.` plus the last user
  message's word count.

The model name `rate-limited` also answers 429. Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
import logging
import re
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
            return _content_text(message)
    return ""


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content)
    return str(content or "")


SCRIPTS = ("[tool]", "[sales]", "[bad-tool-json]", "[bad-proposal]", "[proposal]", "[echo]")


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
    product = None if any(m in text for m in SCRIPTS) else product_data(messages)
    if product is not None:
        return 200, model_reply(messages, product, _offered_tools(body))
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return 200, {"content": f"The tool answered: {str(last.get('content'))[:200]}"}
    if "[tool]" in text:
        return 200, _tool_calls(("listing_rules", "{}"))
    if "[sales]" in text:
        return 200, _tool_calls(("asin_sales_summary", '{"days": 30}'))
    if "[bad-tool-json]" in text:
        return 200, _tool_calls(("search_term_history", '{"term": "tea maker"'))
    if "[bad-proposal]" in text:
        return 200, {"content": 'Here it is:\n```json\n{"title": "Kettle", "bullets": [\n```'}
    if "[proposal]" in text:
        block = json.dumps(fake.proposal, indent=2, ensure_ascii=False)
        return 200, {"content": f"My proposal:\n```json\n{block}\n```\nCheck it first."}
    return 200, {"content": f"{FAKE_REPLY} You wrote {len(text.split())} words."}


def _tool_calls(*calls: tuple[str, str]) -> dict[str, Any]:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{name}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for name, arguments in calls
        ],
    }


# --- the model-like answer ------------------------------------------------------------------

TITLE_LIMIT = 200
TITLE_ROOMY = 80  # a title shorter than this leaves searchable words unused
BULLETS = 5
BULLET_LIMIT = 500
DESCRIPTION_LIMIT = 2000
SALES_DAYS = 30


def product_data(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The product JSON of the assistant's system message (an object with a "listing"), if any."""
    decoder = json.JSONDecoder()
    for message in messages:
        if message.get("role") != "system":
            continue
        content = _content_text(message)
        for start in (match.start() for match in re.finditer(r"^\{", content, re.MULTILINE)):
            try:
                data, _ = decoder.raw_decode(content, start)
            except json.JSONDecodeError:
                continue  # the prompt's own {"title": str, ...} sketch is not JSON
            if isinstance(data, dict) and isinstance(data.get("listing"), dict):
                return data
    return None


def model_reply(
    messages: list[dict[str, Any]], product: dict[str, Any], offered: set[str]
) -> dict[str, Any]:
    """Tool calls first (once per user turn), then an explanation and a proposal."""
    turn = _current_turn(messages)
    results = _tool_results(turn)
    terms = _converting_terms(product)
    focus = next((t for t in terms if t["missing"]), terms[0] if terms else None)
    if not any(message.get("role") == "tool" for message in turn):
        calls = []
        if "asin_sales_summary" in offered:
            calls.append(("asin_sales_summary", json.dumps({"days": SALES_DAYS})))
        if "search_term_history" in offered and focus is not None:
            calls.append(("search_term_history", json.dumps({"term": focus["term"]})))
        if calls:
            return _tool_calls(*calls)
    proposal = propose(product, results)
    block = json.dumps(proposal, indent=2, ensure_ascii=False)
    return {"content": f"{_explanation(product, results, focus)}\n\n```json\n{block}\n```\n"}


def propose(product: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """A listing proposal from the product data: the converting terms the listing misses go
    into the title (where they fit), a bullet point, the description and the backend terms
    (appended as they are, so a repeated word is left for the page to repair)."""
    listing = product["listing"]
    terms = _converting_terms(product)
    missing = [t for t in terms if t["missing"]]
    title = _title(listing, missing, [t for t in terms if not t["missing"]])
    names = [t["term"] for t in missing[:3]]
    bullets = [str(b) for b in listing.get("bullets") or [] if str(b).strip()][:BULLETS]
    if names:
        bullet = (
            f"{names[0].upper()}: the pick of shoppers who search for {_joined(names)}, "
            "backed by friendly support"
        )
        bullets = [*bullets[: BULLETS - 1], bullet[:BULLET_LIMIT]]
    description = str(listing.get("description") or "").strip()
    for sentence in re.split(r"(?<=\.)\s+", description):
        if len(bullets) >= BULLETS:
            break
        if sentence and sentence.rstrip(".") not in " ".join(bullets):
            bullets.append(sentence.rstrip(".")[:BULLET_LIMIT])
    if names:
        description = f"{description} Shoppers looking for {_joined(names)} find it here.".strip()
    backend = " ".join([str(listing.get("backend_search_terms") or ""), *names]).strip()
    reasons = [_sales_reason(results.get("asin_sales_summary"))]
    reasons += [
        f"{t['term']} brought {t['orders_7d']} orders (7-day){_acos(t)}, yet is not in the listing"
        for t in missing[:3]
    ]
    reasons += [f"Addresses: {f.get('message')}" for f in product.get("rule_findings") or []]
    history = _history_reason(results.get("search_term_history"))
    lacking = "not in the listing"
    return {
        "title": title,
        "bullets": bullets,
        "description": description[:DESCRIPTION_LIMIT],
        "backend_terms": backend,
        "exact_keywords": [
            {"term": t["term"], "reason": f"{t['orders_7d']} orders (7-day){_acos(t)}; {lacking}"}
            for t in missing[:3]
        ],
        "negative_keywords": [
            {"term": t["term"], "reason": f"ACoS {t['acos_7d']:.0%}: it costs more than it sells"}
            for t in terms
            if t["acos_7d"] is not None and t["acos_7d"] > 1
        ],
        "reasons": [reason for reason in [*reasons, history] if reason],
    }


def _title(
    listing: dict[str, Any], missing: list[dict[str, Any]], held: list[dict[str, Any]]
) -> str:
    """The current title with the missing terms added where they fit (200 characters, no word
    a third time), then held terms while it is under 80 characters."""
    parts = [str(listing.get("brand") or ""), str(listing.get("category") or "")]
    title = str(listing.get("title") or " ".join(p for p in parts if p)).strip()
    for index, term in enumerate(missing + held):
        if index >= len(missing) and len(title) >= TITLE_ROOMY:
            break
        words = _words(title)
        if all(w in words for w in _words(term["term"])):
            continue
        candidate = f"{title}, {term['term'].title()}" if title else term["term"].title()
        counts = _words(candidate)
        if len(candidate) <= TITLE_LIMIT and max(counts.values()) <= 2:
            title = candidate
    return title


def _words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in re.findall(r"[^\W_]+", text.casefold()):
        counts[word] = counts.get(word, 0) + 1
    return counts


def _converting_terms(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The converting terms, most orders first, each marked missing or not."""
    missing = set(product.get("converting_terms_missing_from_listing") or [])
    terms = [
        {
            "term": str(t.get("term") or ""),
            "orders_7d": int(t.get("orders_7d") or 0),
            "clicks": int(t.get("clicks") or 0),
            "acos_7d": t.get("acos_7d"),
            "missing": t.get("term") in missing or t.get("in_listing") == "missing",
        }
        for t in product.get("converting_search_terms") or []
        if t.get("term")
    ]
    return sorted(terms, key=lambda t: (-t["orders_7d"], t["term"]))


def _explanation(
    product: dict[str, Any], results: dict[str, Any], focus: dict[str, Any] | None
) -> str:
    missing = [t["term"] for t in _converting_terms(product) if t["missing"]]
    looked = f' and the weekly history of "{focus["term"]}"' if focus else ""
    lines = [f"I looked at the last {SALES_DAYS} days of {product.get('asin')}{looked}."]
    sales = _sales_reason(results.get("asin_sales_summary"))
    if sales:
        lines.append(sales + ".")
    if missing:
        them = "them" if len(missing) > 1 else "it"
        lines.append(
            f"{_count(len(missing), 'converting search term')} with orders "
            f"{'are' if len(missing) > 1 else 'is'} not in the listing ({_joined(missing)}): the "
            f"proposal adds {them} to the title where {them} fit, a bullet point, the description "
            f"and the backend terms, and proposes {them} as exact keywords."
        )
    else:
        lines.append("The listing already holds every converting search term; the proposal "
                     "tightens the copy.")  # fmt: skip
    lines.append("Check it before you use it.")
    return " ".join(lines)


def _sales_reason(summary: Any) -> str:
    if not isinstance(summary, dict) or summary.get("units_ordered") is None:
        return ""
    sales = summary.get("ordered_product_sales")
    conversion = summary.get("unit_session_percentage")
    text = f"Last {summary.get('days')} days: {summary['units_ordered']} units"
    if sales is not None:
        text += f", {sales} {summary.get('currency') or ''} ordered sales".replace(" ,", ",")
    if conversion is not None:
        text += f", {float(conversion):.1f}% unit session percentage"
    return text


def _history_reason(history: Any) -> str:
    if not isinstance(history, dict) or not history.get("weeks"):
        return ""
    weeks = history["weeks"]
    clicks = sum(int(w.get("clicks") or 0) for w in weeks)
    orders = sum(int(w.get("orders_7d") or 0) for w in weeks)
    return (
        f"{history.get('term')} over {_count(len(weeks), 'week')}: {_count(clicks, 'click')}, "
        f"{_count(orders, 'order')} (7-day)"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _acos(term: dict[str, Any]) -> str:
    return "" if term["acos_7d"] is None else f" at {float(term['acos_7d']):.0%} ACoS"


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _current_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages after the last user message (the tool rounds of this turn)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return messages[index + 1 :]
    return messages


def _tool_results(turn: list[dict[str, Any]]) -> dict[str, Any]:
    """Tool name -> its decoded result, for the tool messages of this turn."""
    names = {
        call.get("id"): call.get("function", {}).get("name")
        for message in turn
        for call in message.get("tool_calls") or []
    }
    results: dict[str, Any] = {}
    for message in turn:
        if message.get("role") == "tool":
            try:
                results[str(names.get(message.get("tool_call_id")))] = json.loads(
                    _content_text(message)
                )
            except json.JSONDecodeError:
                continue
    return results


def _offered_tools(body: dict[str, Any]) -> set[str]:
    return {
        str(tool.get("function", {}).get("name"))
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
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


FAKE_MODEL = "fake-model"  # any name works; this is the one `up --fake-llm` sets


def _handler_for(fake: FakeLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake llm: " + format, *args)

        def do_GET(self) -> None:
            """GET /v1/models, as OpenAI-compatible servers list their models (`up` waits on it)."""
            if self.path.rstrip("/") != "/v1/models":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            model = {"id": FAKE_MODEL, "object": "model", "owned_by": "amzinsight-sandbox"}
            self._json(200, {"object": "list", "data": [model]})

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
