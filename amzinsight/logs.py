"""Logging set up once per entry point, with a filter that redacts anything secret-looking."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

REDACTED = "**********"

# LWA access and refresh tokens, Fernet tokens (and our enc: values), bearer headers,
# and `secret=...`/`api_key: ...` pairs as they appear in URLs, forms and reprs.
_SECRET_PATTERNS = [
    re.compile(r"Atz[ar]\|[A-Za-z0-9\-_.|=+/]+"),
    re.compile(r"enc:[A-Za-z0-9\-_=]+"),
    re.compile(r"gAAAAA[A-Za-z0-9\-_=]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.=|]+"),
    re.compile(
        r"(?i)((?:client_secret|refresh_token|access_token|api_key|secret_key|password)"
        r"[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"
    ),
    re.compile(r"\bsk-[A-Za-z0-9\-_]{16,}"),
]


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """The text with every known secret value and every secret-looking token replaced."""
    for secret in sorted((s for s in known_secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's final message (arguments and traceback included) without secrets."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.known_secrets = list(known_secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message, self.known_secrets)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.known_secrets)
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to sys.stderr as it is at that moment, not as it was when logging was
    configured: a redirect or a closed capture of an earlier caller never breaks a later one."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str = "INFO", known_secrets: Iterable[str] = ()) -> None:
    """Root handler on stderr with the redacting filter; safe to call more than once."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "_amzinsight", False)), None)
    if handler is None:
        handler = _CurrentStderrHandler()
        handler._amzinsight = True  # type: ignore[attr-defined]
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        root.addHandler(handler)
    handler.filters = [RedactSecretsFilter(known_secrets)]
    # One INFO line per HTTP request (with pre-signed URLs) drowns the log; keep their warnings.
    for chatty in ("httpx", "httpcore", "botocore", "urllib3"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
