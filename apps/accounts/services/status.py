"""Writes of an account's status flags that other apps and staff make: active (moderation's
suspensions and bans) and the verified badge. Each staff write records one row of the audit
trail (`apps.core.audit`) per account it changed; the admin's user form records its edits
itself (`apps.core.admin.AuditedModelAdmin`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from apps.accounts import hooks
from apps.accounts.models import User
from apps.core.audit import Actor, record_audit


def user_set_active(*, user_id: int, active: bool) -> bool:
    """For moderation's standing: refuse (or allow again) the account's log-in and tokens.
    Moderation records its own audit (the enforcement action). True when it changed."""
    with transaction.atomic():
        changed = bool(User.objects.filter(pk=user_id).exclude(is_active=active)
                       .update(is_active=active))
        if changed:
            hooks.account_changed(user_ids=[user_id])
    return changed


def users_set_verified(*, user_ids: Iterable[int], verified: bool, actor: Actor,
                       reason: str = "", ip: str | None = None) -> int:
    """Give (or take away) the verified badge; one audit row per account that changed.
    Returns how many changed."""
    verb = "accounts.verify" if verified else "accounts.unverify"
    count = 0
    with transaction.atomic():
        for user in User.objects.filter(pk__in=list(user_ids)).order_by("pk"):
            # A conditional UPDATE: of two staff doing this at once, only one changes the row
            # (PostgreSQL re-checks the condition after the row lock) and records it.
            if User.objects.filter(pk=user.pk).exclude(is_verified=verified).update(
                    is_verified=verified):
                record_audit(actor=actor, action=verb, target=user, reason=reason, ip=ip)
                hooks.account_changed(user_ids=[user.pk])
                count += 1
    return count

