"""Celery tasks of search: thin and safe to run twice (or concurrently)."""

from __future__ import annotations

from celery import shared_task

from apps.search.engine import get_backend
from apps.search.indexing import pipeline
from apps.search.services import trending


@shared_task(name="apps.search.drain_index_outbox", ignore_result=True)
def drain_index_outbox() -> int:
    """Apply the index outbox (after each commit that wrote to it, and beat every few
    seconds). An index never completely built is rebuilt first, by its own task (no time
    limit of a quick task); the rows wait for it."""
    if not get_backend().is_built():
        rebuild_index_if_unbuilt.apply_async(expires=60)
        return 0
    return pipeline.drain()


@shared_task(name="apps.search.rebuild_index_if_unbuilt", ignore_result=True,
             soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def rebuild_index_if_unbuilt() -> bool:
    """The first-start rebuild (one runs: the writer lock; the others return at once)."""
    return pipeline.ensure_built()


@shared_task(name="apps.search.consume_events", ignore_result=True)
def consume_events() -> int:
    """The `search` consumer group of the event log: searches, clicks and hashtag views
    into search's counts (beat, every 10 s; reclaims what dead consumers left pending)."""
    return trending.events_consume().applied


@shared_task(name="apps.search.compute_trending", ignore_result=True)
def compute_trending() -> int:
    """Recompute the trending searches and hashtags (beat, every minute)."""
    return sum(trending.trending_compute().values())


@shared_task(name="apps.search.prune_trending", ignore_result=True)
def prune_trending() -> int:
    """Counts older than the trending windows need (beat, every 6 h)."""
    return trending.trending_prune()
