"""A creator's new post told to the followers who turned on their post notifications
(issue 14, "Scale": up to a million of them), as a resumable batched job.

- Recipients are read in keyset order of follower id (the `notif_creator_user` index), a
  batch at a time (memory stays flat whatever the audience).
- Each batch goes through `inbox`'s one way of writing (event keys claimed with one
  INSERT ... ON CONFLICT DO NOTHING, the rules, the recipients' seqs reserved with one
  INSERT ... ON CONFLICT DO UPDATE ... RETURNING in recipient order, one multi-row INSERT
  of the notifications) and, in the same transaction, the checkpoint (`FanOut`: the last
  follower id done). A worker killed mid-way leaves the batch uncommitted; the next run
  resumes after the checkpoint, and the event keys stop anyone being told twice.
- The `FanOut` row is locked per batch: two runs of the same job take turns, never the
  same batch twice.
- Push and live delivery are enqueued once per batch (`tasks.deliver_batch`), not once
  per recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.content.models import Post
from apps.core.outbox import enqueue_on_commit
from apps.notifications import types
from apps.notifications.models import CreatorPostSubscription, FanOut, Notification
from apps.notifications.services import rules
from apps.notifications.services._common import Candidate
from apps.notifications.services.inbox import _claim, _write
from apps.social.models import Follow

FAN_OUT_BATCH = 5000
TOLD_LEVELS = (CreatorPostSubscription.Level.ALL, CreatorPostSubscription.Level.PERSONALISED)


def _subscribers_after(creator_id: int, after: int, limit: int) -> list[tuple[int, str]]:
    """(follower id, level) of the next `limit` followers after `after` who asked for the
    creator's posts (a subscription of someone who no longer follows does not count)."""
    sub = connection.ops.quote_name(CreatorPostSubscription._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.user_id, s.level FROM {sub} s "  # noqa: S608 - names from _meta
            "WHERE s.creator_id = %s AND s.user_id > %s AND s.level = ANY(%s) "
            "AND EXISTS (SELECT 1 FROM social_follow f "
            "            WHERE f.follower_id = s.user_id AND f.followee_id = s.creator_id) "
            "ORDER BY s.user_id LIMIT %s",
            [creator_id, after, [str(level) for level in TOLD_LEVELS], limit])
        return [(int(user_id), str(level)) for user_id, level in cursor.fetchall()]


def _candidates(post_id: int, author_id: int, batch: list[tuple[int, str]]) -> list[Candidate]:
    """"all": one notification per post; "personalised": one per hour per creator, grouped."""
    return [Candidate(user_id, types.NEW_POST.name, f"new_post:{post_id}:{user_id}",
                      actor_id=author_id, target_type="post", target_id=post_id,
                      group_key=(f"new_post:user:{author_id}"
                                 if level == CreatorPostSubscription.Level.PERSONALISED
                                 else ""))
            for user_id, level in batch]


def _tell(candidates: list[Candidate], now: datetime) -> list[Notification]:
    """`inbox.notify` without its per-row delivery (the caller enqueues one per batch)."""
    fresh = _claim([c.key for c in candidates])
    todo = rules.allowed([c for c in candidates if c.key in fresh], now=now)
    return _write(todo, now) if todo else []


def new_post_fan_out(post_id: int, *, batch_size: int = FAN_OUT_BATCH,
                     now: datetime | None = None,
                     after_batch: Callable[[FanOut], None] | None = None) -> int:
    """Tell the post's creator's opted-in followers, resuming after the checkpoint; returns
    how many this call told. Safe to run twice, at once or after a crash. `after_batch`
    is called with the checkpoint after each batch's commit (progress, tests)."""
    author_id = Post.objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is None:
        return 0

    def batch_of(after: int) -> tuple[list[Candidate], int | None]:
        batch = _subscribers_after(author_id, after, batch_size)
        return _candidates(post_id, author_id, batch), (batch[-1][0] if batch else None)

    return _fan_out(post_id, author_id, batch_of, now=now, after_batch=after_batch)


def _fan_out(job_id: int, creator_id: int,
             batch_of: Callable[[int], tuple[list[Candidate], int | None]], *,
             now: datetime | None, after_batch: Callable[[FanOut], None] | None) -> int:
    """The resumable loop: `batch_of(after)` answers the next batch's candidates and the
    checkpoint after it (None: nobody is left). Each batch and its checkpoint commit
    together under the job's row lock."""
    from apps.notifications.tasks import deliver_batch  # tasks import services

    FanOut.objects.get_or_create(post_id=job_id, defaults={"creator_id": creator_id})
    told = 0
    while True:
        with transaction.atomic():
            job = FanOut.objects.select_for_update().get(pk=job_id)
            if job.finished_at is not None:
                return told
            candidates, checkpoint = batch_of(job.after_user_id)
            if checkpoint is None:
                job.finished_at = timezone.now()
                job.save(update_fields=["finished_at", "updated_at"])
                return told
            rows = _tell(candidates, now or timezone.now()) if candidates else []
            job.after_user_id = checkpoint
            job.batches += 1
            job.told += len(rows)
            job.save(update_fields=["after_user_id", "batches", "told", "updated_at"])
            if rows:
                enqueue_on_commit(deliver_batch, [[str(row.pk), row.seq] for row in rows])
        told += len(rows)
        if after_batch is not None:
            after_batch(job)


# --- a creator's live started (apps.live registers the type; it passes ints only) -------


def _live_audience_after(creator_id: int, after_follow_id: int, limit: int,
                         excluded: Collection[int]) -> list[tuple[int, int]]:
    """(follow id, follower id) of the creator's next `limit` followers after the follow id
    `after_follow_id` (the `social_follow_followee_id` index), less those who turned the
    creator's notifications off and the `excluded` ones."""
    turned_off = CreatorPostSubscription.objects.filter(
        user_id=OuterRef("follower_id"), creator_id=creator_id,
        level=CreatorPostSubscription.Level.OFF)
    rows = (Follow.objects.filter(followee_id=creator_id, id__gt=after_follow_id)
            .exclude(follower_id__in=list(excluded)).exclude(Exists(turned_off))
            .order_by("id").values_list("id", "follower_id")[:limit])
    return [(int(follow_id), int(user_id)) for follow_id, user_id in rows]


def live_started_fan_out(live_id: int, *, creator_id: int, title: str, path: str,
                         type_name: str = "live_started", excluded: Collection[int] = (),
                         batch_size: int = FAN_OUT_BATCH, now: datetime | None = None,
                         after_batch: Callable[[FanOut], None] | None = None) -> int:
    """Tell the creator's followers (all but those who turned the creator's notifications
    off, and `excluded`) that a live started: once per live (the event key and the job,
    keyed by the live's id: ids are unique across tables, one sequence mints them all),
    batched and resumable like a new post's."""

    def batch_of(after: int) -> tuple[list[Candidate], int | None]:
        batch = _live_audience_after(creator_id, after, batch_size, excluded)
        candidates = [Candidate(user_id, type_name, f"{type_name}:{live_id}:{user_id}",
                                actor_id=creator_id, target_type="live", target_id=live_id,
                                data={"title": title, "path": path})
                      for _, user_id in batch]
        return candidates, (batch[-1][0] if batch else None)

    return _fan_out(live_id, creator_id, batch_of, now=now, after_batch=after_batch)
