"""Renders of the studio, on the `media` queue (CELERY_TASK_ROUTES "apps.studio.*"): a
person is waiting. Thin: the services re-read the row and decide."""

from __future__ import annotations

from celery import shared_task

from apps.studio import services


@shared_task(name="apps.studio.render_version", acks_late=True)
def render_version(version_id: int) -> str:
    return services.version_render_run(version_id=version_id)


@shared_task(name="apps.studio.render_preview", acks_late=True)
def render_preview(preview_id: int) -> str:
    return services.preview_render_run(preview_id=preview_id)


@shared_task(name="apps.studio.check_borrowed", acks_late=True)
def check_borrowed(post_ids: list[int]) -> dict[int, str]:
    """Duets and stitches whose original changed: take the borrowed part out of those
    whose original may no longer be borrowed (apps.studio.takedown)."""
    from apps.studio import takedown

    return takedown.borrowed_check_run(post_ids)


@shared_task(name="apps.studio.remove_old_previews")
def remove_old_previews() -> int:
    """Beat (hourly): previews older than a day and their stored files."""
    return services.previews_remove_old()
