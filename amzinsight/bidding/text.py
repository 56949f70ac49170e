"""Words and numbers in the reasons: money with its currency, percentages, counts, places.

Polars expressions, so a reason is formatted for every row at once; rounding is half away from
zero, as a person rounds, never banker's rounding.
"""

from __future__ import annotations

import polars as pl

from amzinsight.bidding.policy import BidPolicy

CURRENCY_SYMBOLS = {
    "USD": "$",
    "CAD": "CA$",  # as the pages write it
    "MXN": "MX$",
    "BRL": "R$",
    "AUD": "A$",
    "SGD": "S$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "INR": "₹",
}


def _affixes(currency: str) -> tuple[str, str]:
    if currency in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[currency], ""
    return "", f" {currency}" if currency else ""


def money_text(expr: pl.Expr, currency: str) -> pl.Expr:
    """$24.90: rounded half away from zero to the cent, with the currency."""
    cents = (expr * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)
    prefix, suffix = _affixes(currency)
    units = (cents.abs() // 100).cast(pl.String)
    fraction = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, pl.lit(prefix), units, pl.lit("."), fraction, pl.lit(suffix)])


def percent_text(expr: pl.Expr) -> pl.Expr:
    """4.1%, 30%: one decimal, none when it is zero."""
    tenths = (expr * 1000).round(0, mode="half_away_from_zero").cast(pl.Int64)
    whole = (tenths // 10).cast(pl.String)
    return (
        pl.when(tenths % 10 == 0)
        .then(whole + "%")
        .otherwise(pl.format("{}.{}%", whole, (tenths % 10).cast(pl.String)))
    )


def int_text(expr: pl.Expr) -> pl.Expr:
    return expr.round(0, mode="half_away_from_zero").cast(pl.Int64).cast(pl.String)


def pct(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def money_scalar(value: float, currency: str) -> str:
    prefix, suffix = _affixes(currency)
    return f"{prefix}{value:.2f}{suffix}"


def cover_text(policy: BidPolicy) -> pl.Expr:
    return pl.format(
        "{} days of cover for {} (under {})",
        int_text(pl.col("days_of_cover")),
        pl.coalesce(pl.col("cover_asin"), pl.lit("the advertised product")),
        pl.lit(f"{policy.low_cover_days:g}"),
    )


def place_text(campaign: str, ad_group: str | None) -> pl.Expr:
    parts = [pl.coalesce(pl.col(f"{campaign}_name"), pl.col(f"{campaign}_id"), pl.lit("?"))]
    if ad_group is not None:
        parts += [
            pl.lit(" / "),
            pl.coalesce(pl.col(f"{ad_group}_name"), pl.col(f"{ad_group}_id"), pl.lit("?")),
        ]
    return pl.concat_str(parts)
