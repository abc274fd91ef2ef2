"""Celery tasks of media, on the `media` queue (CELERY_TASK_ROUTES: "apps.media.*").
Thin and idempotent: they re-read everything from the database and call services. Late
acknowledgement and reject-on-worker-lost are global settings, so a killed worker's task
is delivered again (with the same task id, which lets the step be reclaimed at once)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.media import services


@shared_task(name="apps.media.process_asset", bind=True, acks_late=True, max_retries=5)
def process_asset(self: Any, asset_id: int) -> str:
    try:
        return services.asset_process(asset_id=asset_id, task_id=str(self.request.id))
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(300, 5 * 2 ** self.request.retries)) from exc


@shared_task(name="apps.media.run_step", bind=True, acks_late=True, max_retries=10)
def run_step(self: Any, asset_id: int, name: str) -> str:
    try:
        return services.asset_step_run(
            asset_id=asset_id, name=name, task_id=str(self.request.id)
        )
    except services.StepError as exc:
        if exc.final:
            return f"failed for good: {exc}"
        raise self.retry(exc=exc, countdown=min(300, 2 ** exc.attempts)) from exc


@shared_task(name="apps.media.requeue_stalled")
def requeue_stalled() -> dict[str, int]:
    return services.assets_requeue_stalled()


@shared_task(name="apps.media.reprocess", acks_late=True)
def reprocess(asset_id: int) -> bool:
    return services.asset_reprocess(asset_id=asset_id, via="task")


@shared_task(name="apps.media.recipe_changed", acks_late=True)
def recipe_changed(asset_id: int) -> list[str]:
    """Content changed what an asset is rendered with (sound, mix, cover)."""
    return services.asset_recipe_changed(asset_id=asset_id)


@shared_task(name="apps.media.purge_public_urls", bind=True, acks_late=True, max_retries=8)
def purge_public_urls(self: Any, prefix: str) -> int:
    """Drop a retired public version's files from the CDN (apps.media.cdn)."""
    from apps.media import cdn

    try:
        return cdn.purge(prefix)
    except cdn.PurgeError as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2 ** self.request.retries)) from exc


@shared_task(name="apps.media.caption_auto", acks_late=True)
def caption_auto(track_id: int) -> str:
    """Automatic captions of one track (speech recognition, then publishing)."""
    return services.caption_track_run_auto(track_id=track_id)
