"""Strikes and standing: an account's state recomputed from what is still in force."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.moderation import conf
from apps.moderation.models import EnforcementAction, Standing, Strike, TargetType
from apps.moderation.services._common import Action


def _standing(user_id: int) -> Standing:
    standing, _ = Standing.objects.select_for_update().get_or_create(user_id=user_id)
    return standing


def active_strikes(user_id: int, *, now: datetime | None = None) -> int:
    return Strike.objects.filter(user_id=user_id, removed_at__isnull=True,
                                 expires_at__gt=now or timezone.now()).count()


def standing_refresh(*, user_id: int, now: datetime | None = None) -> Standing:
    """Recompute an account's standing from what is still in force: unreversed bans,
    unexpired unreversed suspensions, a feature limit while strikes stay at its threshold.
    Lifts `is_active` only for accounts that moderation had deactivated."""
    now = now or timezone.now()
    with transaction.atomic():
        standing = _standing(user_id)
        was_blocked = standing.state in (Standing.State.SUSPENDED, Standing.State.BANNED)
        live = EnforcementAction.objects.filter(subject_id=user_id, reversed_at__isnull=True,
                                                target_type=TargetType.USER)
        banned = live.filter(action=Action.BAN).exists()
        until = live.filter(action=Action.SUSPEND, expires_at__gt=now).aggregate(
            m=Max("expires_at"))["m"]
        limit_at = min((n for n, c in conf.strike_thresholds().items() if c == "limit"),
                       default=None)
        limited = (standing.limited_until is not None and standing.limited_until > now
                   and (limit_at is None or active_strikes(user_id, now=now) >= limit_at))
        standing.suspended_until = until
        standing.limited_until = standing.limited_until if limited else None
        if not banned:
            standing.banned_at = None
        standing.state = (Standing.State.BANNED if banned else Standing.State.SUSPENDED
                          if until else Standing.State.LIMITED if limited
                          else Standing.State.GOOD)
        standing.save()
        blocked = standing.state in (Standing.State.SUSPENDED, Standing.State.BANNED)
        if was_blocked and not blocked:
            accounts_services.user_set_active(user_id=user_id, active=True)
        elif blocked:
            accounts_services.user_set_active(user_id=user_id, active=False)
    return standing


def standings_sweep(*, now: datetime | None = None) -> int:
    """Beat: lift suspensions and feature limits that have run out."""
    now = now or timezone.now()
    due = Standing.objects.filter(
        Q(state=Standing.State.SUSPENDED, suspended_until__lte=now)
        | Q(state=Standing.State.LIMITED, limited_until__lte=now)
    ).values_list("user_id", flat=True)
    count = 0
    for user_id in list(due[:500]):
        standing_refresh(user_id=user_id, now=now)
        count += 1
    return count
