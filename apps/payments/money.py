"""Exact money conversions between the ledger and the outside world.

Fiat on the ledger is kept in micro-units (1 USD = 1_000_000) so that a revenue share of
a 1-coin gift never rounds to nothing; providers speak the currency's minor unit (cents).
Conversions are integer-only: never a float anywhere near money.
"""

from __future__ import annotations

MICROS_PER_UNIT = 1_000_000

# ISO 4217 exponent (digits of the minor unit) of each fiat currency we accept.
_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2}
_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€"}

SUPPORTED_CURRENCIES: frozenset[str] = frozenset(_EXPONENTS)

COIN = "COIN"


class UnknownCurrencyError(ValueError):
    pass


def _micros_per_minor(currency: str) -> int:
    try:
        exponent = _EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrencyError(f"Unknown currency: {currency!r}.") from None
    return MICROS_PER_UNIT // int(10**exponent)


def minor_exponent(currency: str) -> int:
    """How many digits the currency's minor unit has (2 for USD: cents)."""
    _micros_per_minor(currency)
    return _EXPONENTS[currency]


def _strict_int(value: int, name: str) -> int:
    if type(value) is not int:  # bool is an int subclass: refused too
        raise TypeError(f"{name} must be an int, not {type(value).__name__}.")
    return value


def to_micros(minor: int, currency: str) -> int:
    """A provider's amount in the currency's minor unit (cents) → ledger micro-units."""
    return _strict_int(minor, "minor") * _micros_per_minor(currency)


def to_minor(micros: int, currency: str) -> int:
    """Ledger micro-units → whole minor units, rounded down (toward zero for negatives):
    the sub-cent rest stays where it is (in earnings, for a payout)."""
    micros = _strict_int(micros, "micros")
    step = _micros_per_minor(currency)
    whole = abs(micros) // step
    return whole if micros >= 0 else -whole


def format_money(micros: int, currency: str) -> str:
    """For people: `$12.34` (USD 12_340_000 micros), `1,234 coins` for COIN. Sub-cent rests
    are shown to the cent, rounded down, like a payout would see them."""
    micros = _strict_int(micros, "micros")
    if currency == COIN:
        return f"{micros:,} coin" + ("" if abs(micros) == 1 else "s")
    exponent = minor_exponent(currency)
    minor = to_minor(micros, currency)
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 10**exponent)
    symbol = _SYMBOLS.get(currency, "")
    body = f"{whole:,}.{cents:0{exponent}d}" if exponent else f"{whole:,}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"
