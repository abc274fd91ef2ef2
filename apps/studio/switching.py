"""Edits of a post: a version rendered after the post went out becomes the post's video once
its upload is playable and has passed the same checks as an upload (moderation's
pre-publish check, then content's publish gates inside `post_switch_asset`). Until then,
and if it never does, the post plays the version it had; the version says why in words
(`EditVersion.switch_reason`, shown by the API and the editor).

Settled from media's playable and failed hooks and detection's asset-checked hook (each
idempotent: a version no longer `waiting` is left alone), registered in `apps.py`.
"""

from __future__ import annotations

import logging

from django.db import transaction

from apps.content import services as content_services
from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.media.models import MediaAsset
from apps.moderation.detection.models import AssetCheck, Outcome
from apps.moderation.detection.selectors import asset_check_for
from apps.moderation.policies import Policy
from apps.studio.models import Edit, EditVersion

logger = logging.getLogger(__name__)

WAIT = "wait"
KEPT = "Your post still plays the previous version."


def post_of(edit: Edit, version: EditVersion) -> Post | None:
    """The post `version` is to replace the video of: the one the edit names, else the
    author's post that plays an earlier version's upload (the client posted it)."""
    if edit.post_id is not None:
        return Post.objects.filter(pk=edit.post_id).exclude(status=Post.Status.REMOVED).first()
    earlier = (EditVersion.objects.filter(edit=edit, number__lt=version.number,
                                          asset__isnull=False)
               .values_list("asset_id", flat=True))
    return (Post.objects.filter(asset_id__in=earlier, author_id=edit.owner_id)
            .exclude(status=Post.Status.REMOVED).order_by("-pk").first())


def version_rendered(version: EditVersion) -> None:
    """The render's transaction (the version locked, its asset just made): a version of an
    edit with a post waits to switch it; an older version still waiting is superseded."""
    edit = version.edit
    post = post_of(edit, version)
    if post is None:
        return
    if edit.post_id != post.pk:
        Edit.objects.filter(pk=edit.pk).update(post=post)
    EditVersion.objects.filter(edit=edit, switch=EditVersion.Switch.WAITING).exclude(
        pk=version.pk).update(
        switch=EditVersion.Switch.REFUSED,
        switch_reason=f"Version {version.number} replaced this one before it went out.")
    version.switch, version.switch_reason = EditVersion.Switch.WAITING, ""
    version.save(update_fields=["switch", "switch_reason", "updated_at"])


def _verdict(version: EditVersion, post: Post | None) -> str | None:
    """WAIT, None (try the switch), or why it is refused, in words."""
    asset = version.asset
    if post is None:
        return "The post was deleted or removed, so the new version was not applied."
    if asset is None or asset.state in (MediaAsset.State.REJECTED, MediaAsset.State.FAILED):
        why = asset.state_reason if asset is not None and asset.state_reason else \
            "the file could not be processed."
        return f"The new version could not be processed: {why} {KEPT}"
    if asset.playable_at is None:
        return WAIT
    if post.status != Post.Status.PUBLISHED:
        return None  # not out: its publish runs the checks
    check = asset_check_for(asset.pk)
    if check is not None and check.state == AssetCheck.State.FAILED:
        return f"The new version could not be checked, so it was not applied. {KEPT}"
    if check is None or check.state != AssetCheck.State.DONE:
        return WAIT
    if check.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        rule = Policy(check.policy).label if check.policy in Policy.values else "safety"
        return ("The new version was not applied: it may go against our Community "
                f"Guidelines on {rule}. {KEPT}")
    return None


def switch_settle(version_id: int) -> str:
    """Switch the post onto this version, refuse it in words, or wait. Idempotent: the
    version's row lock orders the hooks that race here."""
    with transaction.atomic():
        version = (EditVersion.objects.select_for_update(of=("self",))
                   .select_related("edit", "asset")
                   .filter(pk=version_id, switch=EditVersion.Switch.WAITING).first())
        if version is None:
            return "skipped"
        edit = version.edit
        post = (Post.objects.filter(pk=edit.post_id).exclude(status=Post.Status.REMOVED).first()
                if edit.post_id is not None else None)
        verdict = _verdict(version, post)
        if verdict == WAIT:
            return WAIT
        if verdict is None:
            assert post is not None
            assert version.asset_id is not None
            try:
                content_services.post_switch_asset(
                    post_id=post.pk, author_id=edit.owner_id, asset_id=version.asset_id,
                    cover_time_ms=version.document.get("cover_ms"))
            except ApplicationError as exc:
                verdict = f"{exc.message} {KEPT}"
        if verdict is None:
            version.switch, version.switch_reason = EditVersion.Switch.SWITCHED, ""
        else:
            version.switch, version.switch_reason = EditVersion.Switch.REFUSED, verdict[:300]
        version.save(update_fields=["switch", "switch_reason", "updated_at"])
    logger.info("studio.version_switch", extra={"version_id": version_id,
                                                "switch": version.switch})
    return str(version.switch)


def settle_for_asset(*, asset_id: int) -> None:
    """Every version waiting on this upload (media's and detection's hooks call this)."""
    for version_id in (EditVersion.objects.filter(asset_id=asset_id,
                                                  switch=EditVersion.Switch.WAITING)
                       .values_list("pk", flat=True)):
        switch_settle(version_id)
