"""Celery tasks of ads: thin, idempotent, calling services (autodiscovered from here)."""

from __future__ import annotations

from celery import shared_task

from apps.ads.measurement import billing, rollup
from apps.ads.services import interests


@shared_task(name="ads.rollup_daily_stats", ignore_result=True)
def rollup_daily_stats() -> int:
    """Rebuild today's and yesterday's report rows from the events (beat, every minute)."""
    return rollup.rollup_days()


@shared_task(name="ads.post_spend", ignore_result=True)
def post_spend() -> int:
    """Move charged ad spend from the orgs' prepaid balances into platform revenue in the
    ledger (beat, every 5 minutes; each charge once, whatever runs twice)."""
    made = billing.spend_post_all()
    billing.budget_counters_reconcile()
    return made


@shared_task(name="ads.refresh_watched_topics", ignore_result=True)
def refresh_watched_topics(user_ids: list[int] | None = None) -> int:
    """The watched topics of the viewers serving asked for and of day-old rows (beat, every
    5 minutes), or of `user_ids`. Idempotent."""
    if user_ids is not None:
        return interests.watched_topics_refresh(user_ids=user_ids)
    return interests.watched_topics_refresh_due()
