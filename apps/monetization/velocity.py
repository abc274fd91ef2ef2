"""Velocity limits on money, counted in PostgreSQL (a money path never depends on Redis).

Counted from our own rows in the request's transaction, after `lock_money_of(user)` has
serialised that person's money actions (a transaction-scoped advisory lock), so two
concurrent requests cannot both pass a limit the second one breaks:

- coin purchases started (attempts, declined ones too: card testing is many declines), per
  hour and per day;
- coins given in gifts and tips, per hour and per day;
- tighter daily limits for a new account (younger than `new_account_days`) and for a
  request from a new device (the session's `accounts.Device` row first seen less than
  `new_device_hours` ago).

Defaults below; `settings.SWIPEME_MONETIZATION_LIMITS` overrides any of them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import Device, User
from apps.core.errors import ApplicationError
from apps.monetization.models import CoinPurchase, GiftSend

# Namespace of the advisory lock (the two-int form: namespace, user id folded to 31 bits;
# a collision only makes two people's money actions wait for each other).
_LOCK_NAMESPACE = 0x53_4D  # "SM"


@dataclass(frozen=True)
class Limits:
    purchases_per_hour: int = 5
    purchases_per_day: int = 20
    new_account_purchases_per_day: int = 3
    new_device_purchases_per_day: int = 2
    coins_given_per_hour: int = 20_000
    coins_given_per_day: int = 100_000
    new_account_coins_given_per_day: int = 2_000
    new_device_coins_given_per_day: int = 1_000
    new_account_days: int = 7
    new_device_hours: int = 24


def limits() -> Limits:
    overrides = getattr(settings, "SWIPEME_MONETIZATION_LIMITS", {}) or {}
    known = {f.name for f in fields(Limits)}
    return replace(Limits(), **{k: v for k, v in overrides.items() if k in known})


class VelocityLimitError(ApplicationError):
    status_code = 429
    code = "velocity_limit"


def lock_money_of(user_id: int) -> None:
    """Serialise this person's money actions until the transaction ends."""
    assert connection.in_atomic_block, "lock_money_of needs the caller's transaction"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [_LOCK_NAMESPACE, user_id & 0x7FFF_FFFF])


def _is_new_account(user: User, now: datetime, rules: Limits) -> bool:
    return user.date_joined > now - timedelta(days=rules.new_account_days)


def _is_new_device(user: User, session_key: str | None, now: datetime, rules: Limits) -> bool:
    if not session_key:
        return False
    first_seen = (Device.objects.filter(user_id=user.pk, session_key=session_key)
                  .values_list("created_at", flat=True).first())
    return first_seen is not None and first_seen > now - timedelta(hours=rules.new_device_hours)


def check_purchase(user: User, *, session_key: str | None = None) -> None:
    """Refuse (429, in words) a coin purchase over a limit. Call under `lock_money_of`."""
    rules, now = limits(), timezone.now()
    mine = CoinPurchase.objects.filter(user_id=user.pk)
    if mine.filter(created_at__gt=now - timedelta(hours=1)).count() >= rules.purchases_per_hour:
        raise VelocityLimitError("You've bought coins several times in the last hour. "
                                 "Try again later.")
    today = mine.filter(created_at__gt=now - timedelta(days=1)).count()
    if today >= rules.purchases_per_day:
        raise VelocityLimitError("You've reached today's limit on coin purchases. "
                                 "Try again tomorrow.")
    if _is_new_account(user, now, rules) and today >= rules.new_account_purchases_per_day:
        raise VelocityLimitError("New accounts can buy coins only a few times a day. "
                                 "Try again tomorrow.")
    if (_is_new_device(user, session_key, now, rules)
            and today >= rules.new_device_purchases_per_day):
        raise VelocityLimitError("Coin purchases from a new device are limited for the "
                                 "first day. Try again later or from your usual device.")


def _given_since(user: User, since: datetime) -> int:
    total = (GiftSend.objects.filter(sender_id=user.pk, created_at__gt=since)
             .aggregate(total=Sum("coins"))["total"])
    return int(total or 0)


def check_spend(user: User, coins: int, *, session_key: str | None = None) -> None:
    """Refuse (429, in words) a gift or tip that would go over a limit. Call under
    `lock_money_of`."""
    rules, now = limits(), timezone.now()
    if _given_since(user, now - timedelta(hours=1)) + coins > rules.coins_given_per_hour:
        raise VelocityLimitError("You've sent a lot of coins in the last hour. "
                                 "Try again later.")
    today = _given_since(user, now - timedelta(days=1)) + coins
    if today > rules.coins_given_per_day:
        raise VelocityLimitError("You've reached today's limit on gifts and tips. "
                                 "Try again tomorrow.")
    if _is_new_account(user, now, rules) and today > rules.new_account_coins_given_per_day:
        raise VelocityLimitError("New accounts can send only a limited number of coins a "
                                 "day. Try again tomorrow.")
    if (_is_new_device(user, session_key, now, rules)
            and today > rules.new_device_coins_given_per_day):
        raise VelocityLimitError("Gifts and tips from a new device are limited for the "
                                 "first day. Try again later or from your usual device.")
