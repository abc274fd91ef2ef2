"""Celery tasks of accounts: thin, idempotent, re-reading their inputs from the database."""

from __future__ import annotations

from celery import shared_task

from apps.accounts import services


@shared_task(name="accounts.avatar_render", acks_late=True)
def avatar_render(user_id: int, avatar_name: str) -> bool:
    return services.user_avatar_render(user_id=user_id, avatar_name=avatar_name)


@shared_task(name="accounts.data_export_build", acks_late=True)
def data_export_build(export_id: int) -> bool:
    return services.data_export_build(export_id=export_id)


@shared_task(name="accounts.purge_due_deletions")
def purge_due_deletions() -> int:
    return services.users_purge_due()


@shared_task(name="accounts.expire_data_exports")
def expire_data_exports() -> int:
    return services.data_exports_expire()
