"""Celery tasks of content: thin, idempotent, re-reading their inputs from the database."""

from __future__ import annotations

from celery import shared_task

from apps.content import services


@shared_task(name="content.publish_due_posts")
def publish_due_posts() -> int:
    """Beat, every minute: scheduled posts whose time came (exactly once, see services)."""
    return services.posts_publish_due()


@shared_task(name="content.sync_muted_sounds")
def sync_muted_sounds() -> int:
    """Beat, every minute: notice sounds whose licence lapsed (stamp `muted_at`)."""
    muted, unmuted = services.sounds_sync_muted()
    return muted + unmuted
