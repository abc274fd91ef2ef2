"""apps/payments/money.py: exact, integer-only conversions between providers' minor units
and the ledger's micro-units; anything but an int, and unknown currencies, refused."""

from __future__ import annotations

import pytest

from apps.payments.money import (
    SUPPORTED_CURRENCIES,
    UnknownCurrencyError,
    format_money,
    minor_exponent,
    to_micros,
    to_minor,
)


def test_conversions_are_exact_and_round_down() -> None:
    assert set(SUPPORTED_CURRENCIES) == {"USD", "EUR"}
    assert to_micros(1234, "USD") == 12_340_000
    assert to_minor(12_349_999, "USD") == 1234  # the sub-cent rest stays behind
    assert to_minor(to_micros(10**12, "EUR"), "EUR") == 10**12  # no float anywhere
    assert to_minor(-15_000, "USD") == -1  # toward zero, never more than there is
    assert minor_exponent("EUR") == 2


@pytest.mark.parametrize("bad", [1.5, 2.0, "10", True, None])
def test_only_ints_are_money(bad: object) -> None:
    with pytest.raises(TypeError):
        to_micros(bad, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_minor(bad, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "GBP", "", "COIN"])
def test_unknown_currencies_are_refused(currency: str) -> None:
    with pytest.raises(UnknownCurrencyError):
        to_micros(1, currency)


def test_format_money_for_people() -> None:
    assert format_money(12_345_678, "USD") == "$12.34"
    assert format_money(1_000_000_000_000, "EUR") == "€1,000,000.00"
    assert format_money(-2_500_000, "USD") == "-$2.50"
    assert format_money(1, "COIN") == "1 coin"
    assert format_money(1234, "COIN") == "1,234 coins"
