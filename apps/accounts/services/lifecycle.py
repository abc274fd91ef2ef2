"""Deactivation, scheduled deletion (and its cancelling by a log-in) and the purge of
accounts whose grace period is over."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.accounts import hooks
from apps.accounts.models import DataExport, User
from apps.accounts.services._common import _delete_files
from apps.accounts.services.devices import user_sessions_end_all
from apps.accounts.storage import private_storage
from apps.core.errors import ApplicationError

logger = logging.getLogger(__name__)


def user_deactivate(*, user: User) -> User:
    """Hides the account until its owner logs in again; ends every session."""
    now = timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk, deactivated_at__isnull=True).update(deactivated_at=now)
        hooks.account_changed(user_ids=[user.pk])
        user_sessions_end_all(user=user)
    user.refresh_from_db(fields=["deactivated_at"])
    return user


def user_deletion_schedule(*, user: User, password: str | None = None) -> User:
    """Schedules the hard deletion after the grace period; ends every session. Logging in
    (or the cancel endpoint) during the grace period cancels it. The password is asked
    again so that a stolen session token alone cannot delete an account."""
    if user.has_usable_password() and not user.check_password(password or ""):
        message = "Enter your current password to delete the account."
        raise ApplicationError(message, code="password_incorrect",
                               fields={"password": [message]})
    when = timezone.now() + settings.SWIPEME_DELETION_GRACE
    with transaction.atomic():
        User.objects.filter(pk=user.pk, deletion_scheduled_for__isnull=True).update(
            deletion_scheduled_for=when
        )
        hooks.account_changed(user_ids=[user.pk])
        user_sessions_end_all(user=user)
    user.refresh_from_db(fields=["deletion_scheduled_for"])
    return user


def user_deletion_cancel(*, user: User) -> User:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(deletion_scheduled_for=None)
        hooks.account_changed(user_ids=[user.pk])
    user.deletion_scheduled_for = None
    return user


def user_on_login(*, user: User) -> bool:
    """A log-in reactivates a deactivated account and cancels a scheduled deletion.
    Returns whether anything changed."""
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk).exclude(
            deactivated_at__isnull=True, deletion_scheduled_for__isnull=True
        ).update(deactivated_at=None, deletion_scheduled_for=None)
        if changed:
            hooks.account_changed(user_ids=[user.pk])
    user.deactivated_at = None
    user.deletion_scheduled_for = None
    return bool(changed)


def _files_of(user: User) -> list[tuple[Any, str]]:
    files: list[tuple[Any, str]] = []
    if user.avatar:
        files.append((default_storage, str(user.avatar.name)))
    files.extend((default_storage, name) for name in user.avatar_sizes.values())
    files.extend(
        (private_storage(), name)
        for name in DataExport.objects.filter(user=user).exclude(file="")
        .values_list("file", flat=True)
    )
    return files


def users_purge_due(*, batch_size: int = 100, now: datetime | None = None) -> int:
    """Hard-deletes accounts whose grace period is over. Each user is claimed with SKIP
    LOCKED and purged in a transaction of its own, so concurrent purgers never fight over
    (or double-process) a user, and one user's failing hook or lock conflict rolls back
    only that user. Higher apps' removal hooks run in the same transaction as the delete."""
    now = now or timezone.now()
    purged = 0
    skipped: set[int] = set()
    while True:
        candidates = list(
            User.objects.filter(deletion_scheduled_for__lte=now)
            .exclude(pk__in=skipped)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not candidates:
            return purged
        for user_id in candidates:
            try:
                with transaction.atomic():
                    user = (
                        User.objects.select_for_update(skip_locked=True)
                        .filter(pk=user_id, deletion_scheduled_for__lte=now)
                        .first()
                    )
                    if user is None:  # another purger holds it, or the deletion was cancelled
                        skipped.add(user_id)
                        continue
                    files = _files_of(user)
                    hooks.run_account_removal_hooks(user_id=user.pk)
                    UserSession.objects.filter(user=user).delete()
                    user.delete()
                    transaction.on_commit(lambda files=files: _delete_files(files))  # type: ignore[misc]
            except hooks.PurgeDeferred as deferred:  # rolled back: try again on a later run
                logger.info("account %s: purge deferred: %s", user_id, deferred)
                skipped.add(user_id)
                continue
            purged += 1
