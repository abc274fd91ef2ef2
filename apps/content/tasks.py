"""Celery tasks of content: thin, idempotent, re-reading their inputs from the database."""

from __future__ import annotations

from celery import shared_task

from apps.content import services


@shared_task(name="content.publish_due_posts")
def publish_due_posts() -> int:
    """Beat, every minute: scheduled posts whose time came (exactly once, see services)."""
    return services.posts_publish_due()
