"""The index outbox's writer: lower apps' change hooks land here, inside their transaction."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from django.conf import settings
from django.db import connection, transaction

from apps.core import redis_health
from apps.search.engine.base import Kind
from apps.search.models import IndexOutbox

logger = logging.getLogger(__name__)

# content's names for its kinds -> the index's
_CONTENT_KINDS: dict[str, Kind] = {"post": "video", "sound": "sound", "hashtag": "hashtag"}


def index_changed(*, kind: Kind, ids: Iterable[int]) -> int:
    """Record that these objects changed, in the caller's transaction (a rolled-back change
    leaves no row), and have the drain run after the commit. Returns the rows written."""
    rows = [IndexOutbox(kind=kind, object_id=int(pk)) for pk in dict.fromkeys(ids)]
    if not rows:
        return 0
    IndexOutbox.objects.bulk_create(rows)
    _drain_after_commit()
    return len(rows)


def _drain_after_commit() -> None:
    """One drain request per transaction, however many rows it wrote. Losing it (a broker
    outage, a process dying right after the commit) loses nothing: the beat drains too."""
    if not settings.SWIPEME_SEARCH_DRAIN_ON_COMMIT:
        return
    if any(entry[1] is _request_drain for entry in connection.run_on_commit):
        return
    transaction.on_commit(_request_drain, robust=True)


def _request_drain() -> None:
    from apps.search.tasks import drain_index_outbox

    try:
        drain_index_outbox.apply_async(expires=60)
    except redis_health.OUTAGE_ERRORS as exc:  # beat's next run picks the rows up
        logger.warning("search drain not requested (%s); beat will drain", exc)


# --- the hook functions registered in SearchConfig.ready() -------------------------------------

def on_content_changed(*, kind: str, ids: Collection[int]) -> None:
    index_changed(kind=_CONTENT_KINDS[kind], ids=ids)


def on_account_changed(*, user_ids: Collection[int]) -> None:
    index_changed(kind="account", ids=user_ids)


def on_account_removed(*, user_id: int) -> None:
    # content's own removal hook announces the user's posts and sounds
    index_changed(kind="account", ids=[user_id])


def on_captions_changed(*, asset_id: int) -> None:
    # the posts using the asset: their transcript (documents.py) is the captions' text
    from apps.content.models import Post

    index_changed(kind="video", ids=Post.objects.filter(asset_id=asset_id)
                  .values_list("pk", flat=True))


def register() -> None:
    from apps.accounts.hooks import register_account_changed_hook, register_account_removal_hook
    from apps.content.hooks import register_content_changed_hook
    from apps.media.hooks import register_captions_changed_hook

    register_content_changed_hook(on_content_changed)
    register_account_changed_hook(on_account_changed)
    register_account_removal_hook(on_account_removed)
    register_captions_changed_hook(on_captions_changed)
