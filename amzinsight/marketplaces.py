"""Amazon's marketplaces: id, country, currency, time zone and region, as Amazon documents them.

Report dates are in the marketplace's local date, so the time zone decides what "today" is.
Source: SP-API "Marketplace IDs" reference page.
"""

from __future__ import annotations

from dataclasses import dataclass

from amzinsight.errors import ConfigError


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country_code: str
    currency: str
    time_zone: str
    domain: str
    region: str  # na, eu, fe: decides the SP-API and Ads hosts


MARKETPLACES = {
    m.country_code: m
    for m in [
        Marketplace("ATVPDKIKX0DER", "US", "USD", "America/Los_Angeles", "amazon.com", "na"),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "America/Los_Angeles", "amazon.ca", "na"),
        Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "America/Los_Angeles", "amazon.com.mx", "na"),
        Marketplace("A2Q3Y263D00KWC", "BR", "BRL", "America/Sao_Paulo", "amazon.com.br", "na"),
        Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "Europe/London", "amazon.co.uk", "eu"),
        Marketplace("A1PA6795UKMFR9", "DE", "EUR", "Europe/Berlin", "amazon.de", "eu"),
        Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "Europe/Paris", "amazon.fr", "eu"),
        Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "Europe/Rome", "amazon.it", "eu"),
        Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "Europe/Madrid", "amazon.es", "eu"),
        Marketplace("A1805IZSGTT6HS", "NL", "EUR", "Europe/Amsterdam", "amazon.nl", "eu"),
        Marketplace("A2NODRKZP88ZB9", "SE", "SEK", "Europe/Stockholm", "amazon.se", "eu"),
        Marketplace("A1C3SOZRARQ6R3", "PL", "PLN", "Europe/Warsaw", "amazon.pl", "eu"),
        Marketplace("A33AVAJ2PDY3EV", "TR", "TRY", "Europe/Istanbul", "amazon.com.tr", "eu"),
        Marketplace("A2VIGQ35RCS4UG", "AE", "AED", "Asia/Dubai", "amazon.ae", "eu"),
        Marketplace("A21TJRUUN4KGV", "IN", "INR", "Asia/Kolkata", "amazon.in", "eu"),
        Marketplace("A1VC38T7YXB528", "JP", "JPY", "Asia/Tokyo", "amazon.co.jp", "fe"),
        Marketplace("A39IBJ37TRP1C6", "AU", "AUD", "Australia/Sydney", "amazon.com.au", "fe"),
        Marketplace("A19VAU5U5O7RUS", "SG", "SGD", "Asia/Singapore", "amazon.sg", "fe"),
    ]
}


def marketplace_for(code: str) -> Marketplace:
    """The marketplace of a country code (US, DE) or of Amazon's id (ATVPDKIKX0DER)."""
    for marketplace in MARKETPLACES.values():
        if code.upper() == marketplace.country_code or code == marketplace.marketplace_id:
            return marketplace
    known = ", ".join(sorted(MARKETPLACES))
    raise ConfigError(f"Unknown marketplace {code!r}: use a country code ({known}) or its id.")
