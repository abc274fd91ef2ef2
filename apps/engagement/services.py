"""Engagement writes. Keyword-only, one transaction each, idempotent where the use case is.

Callers pass a post they obtained from `apps.content.selectors.get_post_for(viewer=...)`
(the permission check). Counters: a write changes a counter only by what *this*
transaction inserted or deleted (`get_or_create` says whether we created the row, the
unique pair is the backstop; `delete()` says how many rows we removed), and the delta is
journaled in the same transaction (`apps.engagement.counters`).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable

import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from apps.accounts.models import User
from apps.content.models import Post
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.engagement import counters, hooks
from apps.engagement.models import (
    Collection,
    CounterDelta,
    EngagementSettings,
    Favourite,
    Like,
    Share,
)

COLLECTION_NOT_FOUND = "Collection not found."
MAX_COLLECTIONS = getattr(settings, "ENGAGEMENT_MAX_COLLECTIONS", 100)
VIEW_WINDOW_SECONDS = getattr(settings, "ENGAGEMENT_VIEW_WINDOW_SECONDS", 24 * 3600)
VIEW_MIN_MS = 1000
SHORT_VIDEO_MS = 2000  # a clip shorter than this counts once half of it was watched


def _insert_once(model: type[Like] | type[Favourite], **values: int | None) -> bool:
    # `values` are foreign keys by field name: their columns are "<name>_id".
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: True only when this statement made
    the row. (`get_or_create` can fail when a racing request inserts and deletes the same
    pair between its INSERT and its retrying SELECT.)"""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f"{name}_id") for name in values)
    placeholders = ", ".join(["%s"] * len(values))
    sql = (f"INSERT INTO {table} (id, created_at, {columns}) "  # noqa: S608 - names from _meta
           f"VALUES (swipeme_next_id(), now(), {placeholders}) "
           "ON CONFLICT DO NOTHING RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))
        return cursor.fetchone() is not None


def _published(post: Post) -> None:
    if post.status != Post.Status.PUBLISHED:
        raise ApplicationError("This post is not published yet.", code="post_not_published",
                               status_code=409)


# --- likes ---------------------------------------------------------------------------------


def like_create(*, user: User, post: Post) -> bool:
    """Like `post`. Idempotent: returns False (and counts nothing) when already liked."""
    _published(post)
    with transaction.atomic():
        created = _insert_once(Like, user=user.pk, post=post.pk)
        if created:
            counters.record_delta(post_id=post.pk, field="likes_count", delta=1)
            hooks.run_post_liked_hooks(user_id=user.pk, post_id=post.pk)
    return created


def like_delete(*, user: User, post_id: int) -> bool:
    """Unlike. A no-op when not liked. Takes an id: unliking a post that has since become
    invisible to the user (blocked, made private) must still work."""
    with transaction.atomic():
        deleted, _ = Like.objects.filter(user_id=user.pk, post_id=post_id).delete()
        if deleted:
            counters.record_delta(post_id=post_id, field="likes_count", delta=-deleted)
    return bool(deleted)


# --- collections and favourites --------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or "\x00" in name:
        raise ApplicationError("A collection needs a name.", code="invalid",
                               fields={"name": ["This field may not be blank."]})
    return name


def collection_create(*, owner: User, name: str) -> Collection:
    name = _clean_name(name)
    with transaction.atomic():
        # Lock the owner's row so that two creates cannot both pass the limit check.
        User.objects.select_for_update().filter(pk=owner.pk).only("id").first()
        if Collection.objects.filter(owner_id=owner.pk).count() >= MAX_COLLECTIONS:
            raise ApplicationError(f"You can have at most {MAX_COLLECTIONS} collections.",
                                   code="too_many_collections")
        try:
            with transaction.atomic():
                return Collection.objects.create(owner_id=owner.pk, name=name)
        except IntegrityError:
            raise ConflictError("You already have a collection with this name.",
                                code="collection_name_taken") from None


def _own_collection(owner: User, collection_id: int, *, lock: bool = False) -> Collection:
    qs = Collection.objects.filter(pk=collection_id, owner_id=owner.pk)
    if lock:
        qs = qs.select_for_update()
    collection = qs.first()
    if collection is None:
        raise NotFoundError(COLLECTION_NOT_FOUND)
    return collection


def collection_rename(*, owner: User, collection_id: int, name: str) -> Collection:
    name = _clean_name(name)
    with transaction.atomic():
        collection = _own_collection(owner, collection_id, lock=True)
        collection.name = name
        try:
            with transaction.atomic():
                collection.save(update_fields=["name", "updated_at"])
        except IntegrityError:
            raise ConflictError("You already have a collection with this name.",
                                code="collection_name_taken") from None
    return collection


def collection_delete(*, owner: User, collection_id: int) -> None:
    """Delete a collection; its favourites stay favourites (unfiled)."""
    with transaction.atomic():
        _own_collection(owner, collection_id, lock=True).delete()


def favourite_create(*, user: User, post: Post, collection_id: int | None = None) -> Favourite:
    """Save `post`, optionally into one of the user's collections. Saving again moves it to
    the given collection (or keeps it where it is when none is given); counts once."""
    _published(post)
    with transaction.atomic():
        collection = _own_collection(user, collection_id) if collection_id else None
        created = _insert_once(Favourite, user=user.pk, post=post.pk,
                               collection=collection.pk if collection else None)
        if created:
            counters.record_delta(post_id=post.pk, field="favourites_count", delta=1)
        elif collection is not None:
            Favourite.objects.filter(user_id=user.pk, post_id=post.pk).exclude(
                collection_id=collection.pk).update(collection=collection)
        return Favourite.objects.get(user_id=user.pk, post_id=post.pk)


def favourite_delete(*, user: User, post_id: int) -> bool:
    with transaction.atomic():
        deleted, _ = Favourite.objects.filter(user_id=user.pk, post_id=post_id).delete()
        if deleted:
            counters.record_delta(post_id=post_id, field="favourites_count", delta=-deleted)
    return bool(deleted)


# --- shares and views ---------------------------------------------------------------------------


def share_create(*, user: User, post: Post, channel: str) -> Share:
    _published(post)
    if channel not in Share.Channel.values:
        raise ApplicationError("Unknown share channel.", code="invalid",
                               fields={"channel": ["Unknown share channel."]})
    with transaction.atomic():
        share = Share.objects.create(user_id=user.pk, post_id=post.pk, channel=channel)
        counters.record_delta(post_id=post.pk, field="shares_count", delta=1)
    return share


def view_is_qualified(*, watched_ms: int, duration_ms: int | None) -> bool:
    """A view counts after 1 s of watching, or half of a clip shorter than 2 s."""
    if watched_ms >= VIEW_MIN_MS:
        return True
    if not duration_ms:
        return False
    return duration_ms < SHORT_VIDEO_MS and 2 * watched_ms >= duration_ms


def view_record(*, post: Post, viewer_key: str, watched_ms: int) -> bool:
    """Count a qualified view once per viewer per post per window (SET NX EX in Redis),
    journaled in PostgreSQL. `viewer_key` is "u:<user id>" or, for anonymous web viewers,
    "a:<client ip>". Returns whether this view was counted. Without Redis the dedupe cannot
    be asked: the outage error reaches the API, which answers 503 with Retry-After."""
    _published(post)
    duration = post.asset.duration_ms if post.asset_id else None
    if not view_is_qualified(watched_ms=watched_ms, duration_ms=duration):
        return False
    client = counters.redis_client()
    key = f"engagement:view:{post.pk}:{viewer_key}"
    if not client.set(key, "1", nx=True, ex=VIEW_WINDOW_SECONDS):
        return False
    try:
        with transaction.atomic():
            counters.record_delta(post_id=post.pk, field="views_count", delta=1)
    except BaseException:
        with contextlib.suppress(redis.RedisError):
            client.delete(key)  # not counted: the client's retry must count
        raise
    return True


# --- settings ---------------------------------------------------------------------------------


def engagement_settings_update(*, user: User, show_liked_posts: bool) -> EngagementSettings:
    prefs, _ = EngagementSettings.objects.update_or_create(
        user_id=user.pk, defaults={"show_liked_posts": show_liked_posts}
    )
    return prefs


# --- repair -----------------------------------------------------------------------------------


_ROW_COUNTERS: dict[str, type[Like] | type[Favourite] | type[Share]] = {
    "likes_count": Like, "favourites_count": Favourite, "shares_count": Share,
}


def _reconcile_sql() -> str:
    """One statement per chunk of posts, so the rows and the journal are read in one
    snapshot: counter = rows - journaled deltas not flushed yet (the flush then lands on
    the number of rows). Only posts whose counters differ are written."""
    q = connection.ops.quote_name
    post = q(Post._meta.db_table)
    journal = q(CounterDelta._meta.db_table)
    # names from _meta and the module's constant field names only
    wanted = ", ".join(
        f"GREATEST((SELECT count(*) FROM {q(model._meta.db_table)} r WHERE r.post_id = p.id)"  # noqa: S608
        f" - COALESCE((SELECT sum(d.delta) FROM {journal} d WHERE d.post_id = p.id"
        f" AND d.field = '{field}'), 0), 0) AS {field}"
        for field, model in _ROW_COUNTERS.items())
    sets = ", ".join(f"{field} = w.{field}" for field in _ROW_COUNTERS)
    return (f"WITH w AS (SELECT p.id, {wanted} FROM {post} p WHERE p.id = ANY(%s)) "  # noqa: S608
            f"UPDATE {post} p SET {sets} FROM w WHERE p.id = w.id "
            f"AND ({', '.join(f'p.{f}' for f in _ROW_COUNTERS)}) IS DISTINCT FROM "
            f"({', '.join(f'w.{f}' for f in _ROW_COUNTERS)}) RETURNING p.id")


def counters_reconcile(*, post_ids: Iterable[int] | None = None, batch_size: int = 1000) -> int:
    """Recompute likes/favourites/shares counters from the rows; returns how many posts
    were corrected. Each chunk holds the flush lock exclusively (no flush moves deltas
    meanwhile) and reads rows and journal in one statement, so a write racing the recount
    is either in both or in neither. Views have no rows: their journal is their record."""
    base = Post.objects.order_by("pk")
    if post_ids is not None:
        base = base.filter(pk__in=list(post_ids))
    sql = _reconcile_sql()
    corrected = 0
    last = 0
    while True:
        ids = list(base.filter(pk__gt=last).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return corrected
        last = ids[-1]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [counters.FLUSH_LOCK])
            cursor.execute(sql, [ids])
            corrected += len(cursor.fetchall())


# --- account removal and export (accounts' hook registries) -----------------------------------


def engagement_purge_user(*, user_id: int) -> None:
    """Before a user row is deleted: remove their likes, favourites, shares and collections
    and take them off the posts' counters (the rows would otherwise vanish by cascade and
    leave the counters high until a reconcile). Runs inside the purge transaction."""
    deltas: dict[tuple[int, str], int] = defaultdict(int)
    for field, model in _ROW_COUNTERS.items():
        rows = model.objects.filter(user_id=user_id)
        for post_id, n in rows.values("post_id").annotate(n=Count("id")).values_list(
                "post_id", "n"):
            deltas[(post_id, field)] -= n
        rows.delete()
    Collection.objects.filter(owner_id=user_id).delete()
    EngagementSettings.objects.filter(user_id=user_id).delete()
    counters.record_deltas(dict(deltas))


def engagement_export_user(*, user_id: int) -> dict[str, list[dict[str, str | None]]]:
    """The user's likes, favourites, collections and shares for their data export."""
    return {
        "likes": [{"post_id": str(post_id), "at": at.isoformat()} for post_id, at in
                  Like.objects.filter(user_id=user_id).order_by("id")
                  .values_list("post_id", "created_at")],
        "favourites": [{"post_id": str(post_id), "collection": name, "at": at.isoformat()}
                       for post_id, name, at in Favourite.objects.filter(user_id=user_id)
                       .order_by("id").values_list("post_id", "collection__name", "created_at")],
        "collections": [{"id": str(pk), "name": name} for pk, name in
                        Collection.objects.filter(owner_id=user_id).order_by("id")
                        .values_list("id", "name")],
        "shares": [{"post_id": str(post_id), "channel": channel, "at": at.isoformat()}
                   for post_id, channel, at in Share.objects.filter(user_id=user_id)
                   .order_by("id").values_list("post_id", "channel", "created_at")],
    }
