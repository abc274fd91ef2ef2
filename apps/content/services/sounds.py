"""Sounds: using one in a post, muting and taking down (re-rendering the posts using it),
reuse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.content.hooks import content_changed
from apps.content.models import Post, Sound
from apps.content.selectors import sound_use_refusal, visible_posts_for
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.outbox import enqueue_on_commit
from apps.social.selectors import is_blocked_between

logger = logging.getLogger(__name__)


def _sound_for_use(*, user: User, sound_id: int) -> Sound:
    """A sound `user` may put on a new post, or a clear 4xx."""
    sound = Sound.objects.select_related("original_owner").filter(pk=sound_id).first()
    not_found = NotFoundError("Sound not found.", fields={"sound_id": ["Sound not found."]})
    if sound is None:
        raise not_found
    if sound.kind == Sound.Kind.ORIGINAL:
        owner = sound.original_owner
        assert owner is not None  # a check constraint holds it
        if owner.pk != user.pk:
            if not owner.is_discoverable or is_blocked_between(user.pk, owner.pk):
                raise not_found
            source_visible = visible_posts_for(viewer=user).filter(
                Q(original_sound=sound) | Q(sound=sound)
            ).exists()
            if not source_visible:
                raise not_found
    refusal = sound_use_refusal(sound, user=user)
    if refusal is not None:
        raise ApplicationError(refusal.message, code=refusal.code,
                               fields={"sound_id": [refusal.field_message]},
                               status_code=refusal.status_code)
    return sound


def sounds_sync_muted(*, now: datetime | None = None) -> tuple[int, int]:
    """Beat: stamp `muted_at` on sounds that stopped being usable (a licence that lapsed,
    a take-down) and clear it on sounds usable again (a renewed licence, a restore); the
    posts using them are rendered again by media (the recipe leaves an unusable sound out,
    so the track is gone from the video itself, not only flagged). The API mutes at once
    from `Sound.is_usable`; this makes it true in the files and visible to staff.
    Returns (newly muted, unmuted)."""
    moment = now or timezone.now()
    unusable = Q(is_taken_down=True) | Q(licence_expires_at__lte=moment)
    muted = list(Sound.objects.filter(unusable, muted_at__isnull=True)
                 .values_list("pk", flat=True))
    unmuted = list(Sound.objects.filter(~unusable, muted_at__isnull=False)
                   .values_list("pk", flat=True))
    if muted:
        Sound.objects.filter(pk__in=muted).update(muted_at=moment)
    if unmuted:
        Sound.objects.filter(pk__in=unmuted).update(muted_at=None)
    if muted or unmuted:
        content_changed(kind="sound", ids=muted + unmuted)
        _rerender_posts_with(muted + unmuted)
        logger.info("content.sounds_muted", extra={"muted": len(muted),
                                                   "unmuted": len(unmuted)})
    return len(muted), len(unmuted)


def _rerender_assets(asset_ids: list[int]) -> None:
    """Tell media (after commit) that what these uploads are rendered with changed (the
    sound, the mix, the cover); media renders again only the outputs that depend on it.
    Through the task outbox: nothing sweeps for a stale render, so a message lost to a
    broker outage would leave a taken-down sound playing."""
    from apps.media.tasks import recipe_changed

    for asset_id in asset_ids:
        enqueue_on_commit(recipe_changed, asset_id)


def _rerender_posts_with(sound_ids: list[int]) -> None:
    """Render again every upload whose post uses these sounds as its chosen sound."""
    _rerender_assets(list(Post.objects.filter(sound_id__in=sound_ids)
                          .exclude(original_sound_id=F("sound_id"))
                          .exclude(status=Post.Status.REMOVED)
                          .values_list("asset_id", flat=True)))


def sounds_take_down(*, sound_ids: Iterable[int], taken_down: bool = True,
                     actor: Actor = None, reason: str = "", ip: str | None = None) -> int:
    """Staff take sounds down (muted wherever they play, unusable for new posts) or
    restore them; one audit row per sound that changed. Returns how many changed."""
    verb = "content.sound_take_down" if taken_down else "content.sound_restore"
    changed = 0
    with transaction.atomic():
        for sound in Sound.objects.filter(pk__in=list(sound_ids)).order_by("pk"):
            # conditional: of two staff at once only one changes the row and records it
            if Sound.objects.filter(pk=sound.pk).exclude(is_taken_down=taken_down).update(
                    is_taken_down=taken_down, updated_at=timezone.now()):
                record_audit(actor=actor, action=verb, target=sound, reason=reason, ip=ip)
                content_changed(kind="sound", ids=[sound.pk])
                changed += 1
    sounds_sync_muted()
    return changed


def sound_set_reuse(*, user: User, sound_id: int, allow_reuse: bool) -> Sound:
    """The owner of an original sound lets others use it (or stops them)."""
    with transaction.atomic():
        updated = Sound.objects.filter(pk=sound_id, kind=Sound.Kind.ORIGINAL,
                                       original_owner_id=user.pk).update(allow_reuse=allow_reuse)
        if updated != 1:
            raise NotFoundError("Sound not found.")
        content_changed(kind="sound", ids=[sound_id])
    return Sound.objects.get(pk=sound_id)
