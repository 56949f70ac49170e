"""The logging filter redacts secret-looking values wherever they appear in a record."""

from __future__ import annotations

import logging

import pytest

from amzinsight.config import generate_secret_key
from amzinsight.logs import REDACTED, RedactSecretsFilter, redact


@pytest.mark.parametrize(
    "secret_text",
    [
        "Atzr|IwEBIJ-refresh-token.value",
        "Atza|IwEBIAccessToken123",
        "enc:gAAAAABnVGhpcyBpcyBub3QgcmVhbA==",
        "gAAAAABlongfernettokenlongfernettoken",
        "Authorization: Bearer abc.def.ghi",
        "client_secret=amzn1.oa2-cs.v1.abcdef&x=1",
        '{"api_key": "sk-proj-abcdefghijklmnop"}',
    ],
)
def test_redact_removes_secret_shapes(secret_text: str) -> None:
    out = redact(f"before {secret_text} after")
    assert REDACTED in out
    assert out.startswith("before ")
    assert out.endswith(" after")
    for fragment in ("IwEBI", "abcdef", "fernettoken", "abc.def", "sk-proj", "bnVG"):
        assert fragment not in out


def test_known_secrets_are_redacted_even_without_a_recognisable_shape() -> None:
    assert redact("the password is hunter2-long", ["hunter2-long"]) == (
        f"the password is {REDACTED}"
    )


def test_filter_redacts_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    key = generate_secret_key()
    logger = logging.getLogger("amzinsight.test.redaction")
    logger.addFilter(RedactSecretsFilter([key]))
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("token %s and key %s", "Atzr|IwEBIsecret", key)
            try:
                raise RuntimeError(f"failed with {key}")
            except RuntimeError:
                logger.exception("boom")
    finally:
        logger.filters.clear()
    assert "IwEBIsecret" not in caplog.text
    assert key not in caplog.text
    assert caplog.text.count(REDACTED) >= 3


def test_logging_follows_the_current_stderr_after_the_first_one_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry point configured under one stderr (a redirect, a test's capture) that later closes
    must not turn every later record into "--- Logging error ---" on the next stderr."""
    import io
    import sys

    from amzinsight.logs import configure_logging

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging()
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("amzinsight.test").warning("still heard")
    assert "still heard" in second.getvalue()
    assert "Logging error" not in second.getvalue()
