"""What the campaign, ad group and ad use cases share: field errors collected by name, then
raised at once in the API's error shape (every problem of a form in one answer)."""

from __future__ import annotations

from typing import Any

from apps.core.errors import ApplicationError

Errors = dict[str, list[str]]


def check_micros(
    value: Any, *, name: str, low: int, high: int, errors: Errors, label: str
) -> int | None:
    if type(value) is not int:  # bool is an int subclass: refused too
        errors.setdefault(name, []).append(f"{label} must be a whole number of micros.")
        return None
    if value < low:
        errors.setdefault(name, []).append(f"{label} must be at least {low:,} micros.")
    elif value > high:
        errors.setdefault(name, []).append(f"{label} must be at most {high:,} micros.")
    return value


def clean_name(value: Any, *, errors: Errors, field: str = "name") -> str:
    name = " ".join(str(value or "").split())
    if not 1 <= len(name) <= 120:
        errors.setdefault(field, []).append("Give it a name (up to 120 characters).")
    return name


def raise_errors(errors: Errors, message: str = "Check the highlighted fields.") -> None:
    if errors:
        raise ApplicationError(message, code="invalid", fields=errors)
