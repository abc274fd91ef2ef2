"""Date-of-birth rules at sign-up: refused under SWIPEME_MIN_AGE, minors below
SWIPEME_ADULT_AGE are accepted and flagged (User.is_minor)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_YEAR = 1900


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def validate_date_of_birth(born: date, *, today: date | None = None) -> date:
    today = today or timezone.localdate()
    if born > today:
        raise ValidationError("The date of birth cannot be in the future.", code="future")
    if born.year < EARLIEST_YEAR:
        raise ValidationError("Enter a real date of birth.", code="implausible")
    if age_on(born, today) < settings.SWIPEME_MIN_AGE:
        raise ValidationError(
            f"You must be at least {settings.SWIPEME_MIN_AGE} years old to use SwipeMe.",
            code="too_young",
        )
    return born
