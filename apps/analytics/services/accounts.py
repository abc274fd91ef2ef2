"""Accounts' hook registries: a user's analytics rows purged, and exported."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.db import transaction

from apps.analytics import online
from apps.analytics.models import CreatorDailyStats, UserPostStats

logger = logging.getLogger(__name__)


def analytics_purge_user(*, user_id: int) -> None:
    """Account removal (accounts' hook, inside the purge transaction): the user's own
    watch rows and creator rows go; their online features are deleted after commit.
    Post-level aggregates keep no user id and stay. The user's raw events leave the lake
    by a task sent through the outbox (files are rewritten, minutes of work)."""
    from apps.analytics import tasks
    from apps.core.outbox import enqueue_on_commit

    enqueue_on_commit(tasks.lake_purge_user, user_id=user_id)
    UserPostStats.objects.filter(user_id=user_id).delete()
    CreatorDailyStats.objects.filter(creator_id=user_id).delete()
    owner = online.owner_key(user_id=user_id, session_id=None)
    assert owner is not None
    keys = [online.seen_key(owner), *(online.ni_key(owner, kind) for kind in online.NI_KINDS)]

    def forget() -> None:
        try:
            online.write_client().delete(*keys)
        except redis.RedisError as exc:  # they expire on their own (3 and 30 days)
            logger.warning("analytics features of a removed user not deleted: %s", exc)

    transaction.on_commit(forget)


def analytics_export_user(*, user_id: int) -> list[dict[str, Any]]:
    """Data export section: what the service recorded about the user's viewing."""
    return [
        {"post_id": str(row.post_id), "impressions": row.impressions, "plays": row.plays,
         "watch_ms": row.watch_ms, "max_completion": row.max_completion,
         "completed": row.completed, "skipped": row.skipped, "liked": row.liked,
         "shared": row.shared, "not_interested": row.not_interested,
         "last_event_at": row.last_event_at.isoformat()}
        for row in UserPostStats.objects.filter(user_id=user_id).order_by("-last_event_at")
    ]
