"""Who a change is recorded under: the names the app accepts, and the header it may trust."""

from __future__ import annotations

import pytest

from amzinsight.config import Settings, get_settings
from amzinsight.errors import ConfigError
from app.context import USER_NAME_MAX_CHARS, clean_user_name


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("Anna", "Anna"),
        ("  Anna \t Berg \n", "Anna Berg"),
        ("anna\x00\x1b[31m", "anna [31m"),  # control characters never reach the audit log
        ("Ana\u200bBel", "Ana Bel"),  # nor invisible format characters
        ("   ", ""),
        ("", ""),
        (None, ""),
        ("x" * 500, "x" * USER_NAME_MAX_CHARS),
    ],
)
def test_a_name_is_trimmed_printable_and_short(given: str | None, recorded: str) -> None:
    assert clean_user_name(given) == recorded


def test_the_trusted_header_is_a_header_name() -> None:
    assert Settings().trusted_user_header is None
    assert Settings(trusted_user_header="  ").trusted_user_header is None
    assert Settings(trusted_user_header=" X-Forwarded-User ").trusted_user_header == (
        "X-Forwarded-User"
    )


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        ("Authorization", "carries credentials"),
        ("cookie", "carries credentials"),
        ("X Forwarded User", "HTTP header name"),
        ("X-User:", "HTTP header name"),
    ],
)
def test_a_header_that_carries_secrets_or_no_name_is_refused(
    header: str, phrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_TRUSTED_USER_HEADER", header)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=f"AMZ_TRUSTED_USER_HEADER: .*{phrase}"):
        get_settings()
