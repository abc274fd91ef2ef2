"""Public media URLs: retired (CDN purge) when a post or account stops being public."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from apps.accounts.models import User
from apps.content.models import Post
from apps.media.cdn import asset_public_urls_retired


def posts_public_media_changed(*, post_ids: Iterable[int] | None = None,
                               author_id: int | None = None) -> int:
    """Who may watch these posts (or all of an author's) signed out may have changed: move
    each post's `public_version`, so its public media URLs change and the old ones answer
    404 at the origin, and have media purge the old ones from the CDN after the commit.
    Posts never published never had public URLs and are left alone. Returns how many
    moved."""
    rows = Post.objects.filter(published_at__isnull=False)
    if post_ids is not None:
        rows = rows.filter(pk__in=list(post_ids))
    if author_id is not None:
        rows = rows.filter(author_id=author_id)
    with transaction.atomic():
        retired = list(rows.select_for_update().order_by("pk")
                       .values_list("pk", "asset_id", "public_version"))
        Post.objects.filter(pk__in=[pk for pk, _, _ in retired]).update(
            public_version=F("public_version") + 1)
        for _, asset_id, version in retired:
            asset_public_urls_retired(asset_id=asset_id, version=version)
    return len(retired)


def account_privacy_changed(*, user_id: int, fields: list[str]) -> None:
    """Accounts' profile-changed hook (after the commit): an account that is private now
    retires its posts' public URLs. (Made public again, its posts serve under the version
    moved then; a public account re-saving its settings must not break the URLs players
    hold, so nothing moves.)"""
    if "is_private" in fields and User.objects.filter(pk=user_id, is_private=True).exists():
        posts_public_media_changed(author_id=user_id)
