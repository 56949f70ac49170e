"""The one place that decides what may leave the intranet in a request to the LLM endpoint.

Every request body the chat client sends goes through `Anonymiser.prepare` right before it is
sent: identifying values (store name and slug, seller id / merchant token) and configured
secrets are replaced, e-mail addresses, order ids (###-#######-#######) and street addresses
are replaced, and keys that carry buyer data are dropped. A final guard then searches every
string of the prepared body and raises `LeakError` rather than send when any forbidden value or
pattern is still there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from amzinsight.config import Settings
from amzinsight.errors import AmzInsightError
from amzinsight.stores import Store

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_ID = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
STREET_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){1,4}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl"
    r"|Square|Sq|Parkway|Pkwy|Highway|Hwy|Terrace|Close|Crescent)\b\.?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+",
)
PATTERNS = {"e-mail address": EMAIL, "order id": ORDER_ID, "street address": STREET_ADDRESS}
# Keys whose values describe a buyer or a shipment: dropped with their values.
BUYER_KEYS = frozenset(
    {
        "buyer_email",
        "buyer_name",
        "buyer_phone",
        "email",
        "phone",
        "recipient_name",
        "ship_address",
        "shipping_address",
        "ship_city",
        "ship_postal_code",
        "address",
        "amazon_order_id",
        "order_id",
        "merchant_order_id",
        "seller_id",
        "merchant_token",
    }
)
# Keys of the request body that are not content (the model's name, sampling options).
UNTOUCHED_KEYS = frozenset({"model", "stream", "temperature", "max_tokens", "tool_choice"})
SHORTEST_VALUE = 3  # shorter "identifying" values would match ordinary words


class LeakError(AmzInsightError):
    """A request still held seller-identifying data or a secret; it was not sent."""


class Anonymiser:
    """Scrubs identifying values and patterns from request bodies, then guards them."""

    def __init__(self, identifying: Iterable[str | None], secrets: Iterable[str | None] = ()):
        self.identifying = _usable(identifying)
        self.secrets = _usable(secrets)
        self._identifying_patterns = [
            re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
            for value in self.identifying
        ]

    @classmethod
    def for_store(cls, store: Store, settings: Settings) -> Anonymiser:
        """The store's name, slug and seller id (its merchant token), and every secret."""
        return cls([store.name, store.slug, store.seller_id], settings.secret_values())

    def scrub_text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        for pattern in self._identifying_patterns:
            text = pattern.sub("[store]", text)
        text = EMAIL.sub("[e-mail]", text)
        text = ORDER_ID.sub("[order id]", text)
        return STREET_ADDRESS.sub("[address]", text)

    def scrub(self, value: Any) -> Any:
        """A copy of JSON-like data with every string scrubbed and buyer keys dropped."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {
                key: item if key in UNTOUCHED_KEYS else self.scrub(item)
                for key, item in value.items()
                if str(key).lower() not in BUYER_KEYS
            }
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value

    def guard(self, value: Any) -> None:
        """Raise LeakError naming what (never the value) a string of the data still holds."""
        for text in _strings(value):
            for secret in self.secrets:
                if secret in text:
                    raise LeakError(_refused("a configured secret"))
            for pattern in self._identifying_patterns:
                if pattern.search(text):
                    raise LeakError(_refused("the store's name, slug or seller id"))
            for what, found in PATTERNS.items():
                if found.search(text):
                    raise LeakError(_refused(f"an {what}" if what[0] in "eo" else f"a {what}"))

    def prepare(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as it may be sent: scrubbed, then guarded."""
        scrubbed: dict[str, Any] = self.scrub(body)
        self.guard({k: v for k, v in scrubbed.items() if k not in UNTOUCHED_KEYS})
        return scrubbed


def _usable(values: Iterable[str | None]) -> list[str]:
    """Distinct non-trivial values, longest first (so a name is replaced before its slug)."""
    kept = {v.strip() for v in values if v and len(v.strip()) >= SHORTEST_VALUE}
    return sorted(kept, key=len, reverse=True)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _refused(what: str) -> str:
    return f"The request to the LLM still held {what} after anonymisation, so it was not sent."
