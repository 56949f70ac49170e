"""Settings: encrypted credentials round-trip; failures name the variable, never the value."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from amzinsight.config import Settings, encrypt_value, generate_secret_key, get_settings
from amzinsight.errors import ConfigError

SECRET = "Atzr|IwEBIPlantedRefreshToken-1234567890"
VARIABLE = "AMZ_STORES__ACME_US__SP_REFRESH_TOKEN"


def test_encrypted_value_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_secret_key()
    monkeypatch.setenv("AMZ_SECRET_KEY", key)
    monkeypatch.setenv(VARIABLE, encrypt_value(SECRET, key))
    monkeypatch.setenv("AMZ_STORES__ACME_US__LWA_CLIENT_ID", "amzn1.application-oa2-client.x")

    settings = Settings()

    credentials = settings.credentials_for("acme_us")
    assert credentials.sp_refresh_token is not None
    assert credentials.sp_refresh_token.get_secret_value() == SECRET
    assert credentials.lwa_client_id == "amzn1.application-oa2-client.x"
    assert SECRET in settings.secret_values()


def test_plain_values_are_accepted_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMZ_LLM_API_KEY", "sk-plain-value")
    assert Settings().llm.api_key.get_secret_value() == "sk-plain-value"  # type: ignore[union-attr]


def test_secrets_are_masked_in_repr_and_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = generate_secret_key()
    monkeypatch.setenv("AMZ_SECRET_KEY", key)
    monkeypatch.setenv(VARIABLE, encrypt_value(SECRET, key))
    settings = Settings()
    with caplog.at_level(logging.INFO):
        logging.getLogger("amzinsight.test").info("settings: %s %r", settings, settings)
    assert SECRET not in repr(settings) and key not in repr(settings)
    assert "**********" in repr(settings)
    assert SECRET not in caplog.text and key not in caplog.text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing key", "AMZ_SECRET_KEY is not set"),
        ("wrong key", "could not be decrypted with AMZ_SECRET_KEY"),
        ("corrupt token", "is not a valid enc: value"),
        ("truncated token", "is not a valid enc: value"),
        ("malformed key", "AMZ_SECRET_KEY is not a valid Fernet key"),
    ],
)
def test_decryption_failures_are_one_clear_sentence(
    case: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_secret_key()
    token = encrypt_value(SECRET, key)
    if case == "wrong key":
        monkeypatch.setenv("AMZ_SECRET_KEY", Fernet.generate_key().decode())
    elif case == "malformed key":
        monkeypatch.setenv("AMZ_SECRET_KEY", "not-a-key")
    elif case != "missing key":
        monkeypatch.setenv("AMZ_SECRET_KEY", key)
    if case == "corrupt token":
        token = "enc:" + "x" * 20 + token[30:]
    if case == "truncated token":
        token = token[:40]
    monkeypatch.setenv(VARIABLE, token)

    with pytest.raises(ConfigError) as raised:
        Settings()

    message = str(raised.value)
    assert expected in message
    if case != "malformed key":
        assert VARIABLE in message
    assert SECRET not in message
    assert token not in message and token.removeprefix("enc:") not in message
    assert key not in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    # no chained exception that a traceback printer could show with the token in it
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


def test_invalid_setting_names_the_variable_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMZ_CACHE_QUERY_TTL_SECONDS", "soon-ish")
    with pytest.raises(ConfigError, match="AMZ_CACHE_QUERY_TTL_SECONDS") as raised:
        get_settings()
    assert "soon-ish" not in str(raised.value)


def _cli(*args: str, stdin: str = "", env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_keygen_and_encrypt_read_the_value_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    keygen = _cli("secrets", "keygen")
    assert keygen.returncode == 0, keygen.stderr
    key = keygen.stdout.strip()
    Fernet(key.encode())  # a valid key

    env = {**os.environ, "AMZ_SECRET_KEY": key}
    encrypted = _cli("secrets", "encrypt", stdin=SECRET + "\n", env=env)
    assert encrypted.returncode == 0, encrypted.stderr
    value = encrypted.stdout.strip()
    assert value.startswith("enc:") and SECRET not in value

    monkeypatch.setenv("AMZ_SECRET_KEY", key)
    monkeypatch.setenv(VARIABLE, value)
    assert Settings().credentials_for("ACME_US").sp_refresh_token.get_secret_value() == SECRET  # type: ignore[union-attr]


def test_cli_encrypt_without_key_fails_clearly() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "AMZ_SECRET_KEY"}
    result = _cli("secrets", "encrypt", stdin=SECRET, env=env)
    assert result.returncode == 2
    assert "AMZ_SECRET_KEY is not set" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
