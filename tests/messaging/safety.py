"""Helpers of the messaging safety tests: people of a given age, and the refusal a call
raises (its code and the words the user reads)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.messaging.policy import MessagingRefused
from tests.factories import UserFactory


def born(years: int) -> date:
    """A birthday that makes someone `years` old today (a month past their birthday)."""
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=1) - timedelta(days=31)


def person(age: int = 30, **fields: Any) -> User:
    user: User = UserFactory(date_of_birth=born(age), **fields)
    return user


def refused(call: Callable[[], object], code: str) -> MessagingRefused:
    """The call is refused with `code` and a sentence the user can read."""
    with pytest.raises(MessagingRefused) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    assert caught.value.message.endswith(".")
    assert len(caught.value.message) > 20
    return caught.value
