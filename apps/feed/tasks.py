"""Celery tasks of the feed (the `reco` queue): thin, idempotent, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.feed import services


@shared_task(name="apps.feed.refresh_pools", ignore_result=True)
def refresh_pools() -> int:
    """Beat, every minute: rebuild the cached candidate pools."""
    return services.refresh_pools()


@shared_task(name="apps.feed.embed_posts", ignore_result=True)
def embed_posts() -> int:
    """Beat, every minute: embed published posts that have no embedding yet (a post
    published since the last run gets its vector within a minute)."""
    return services.embed_posts()


@shared_task(name="apps.feed.train_ranker", ignore_result=True, soft_time_limit=3000,
             time_limit=3600)
def train_ranker() -> int:
    """Beat, daily: train a new ranker version (staff activate it in the admin)."""
    from apps.feed.models import RankerModel

    if not RankerModel.objects.exists():
        return services.ranker_train(activate=True).version
    return services.ranker_train().version
