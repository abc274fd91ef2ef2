"""Who may be told: the rules every candidate passes before it becomes a notification.

In order (cheap first; the sender's budget is spent only on what passed the rest):
- nobody is told about their own act;
- nothing to an account that is gone: deactivated, pending deletion or suspended (a
  mandatory notice, security or moderation, and any moderation decision still reach a
  suspended account);
- nothing from an actor others can no longer see (deactivated, suspended), nor from
  someone the recipient blocked or muted, nor from someone who blocked the recipient;
- nothing about content that is gone: a post that is not published (removed, deleted,
  back to review) or that the recipient may not see, a comment that is no longer visible;
- the type is off in the recipient's in-app preferences (not for mandatory types);
- the sender's velocity budget: an actor past it in the current hour notifies nobody
  more (a new account gets a smaller budget), silently; without Redis the budget is not
  enforced (told rather than lost).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

import redis
from django.conf import settings

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.core import redis_health
from apps.notifications import types
from apps.notifications.models import Preference
from apps.notifications.services._common import Candidate
from apps.social import selectors as social_selectors

logger = logging.getLogger(__name__)


def sender_budget(*, new_account: bool) -> int:
    """Notifications one sender may cause per hour (velocity-limited types)."""
    if new_account:
        return int(getattr(settings, "NOTIFICATIONS_NEW_SENDER_BUDGET_PER_HOUR", 30))
    return int(getattr(settings, "NOTIFICATIONS_SENDER_BUDGET_PER_HOUR", 200))


NEW_ACCOUNT_AGE = timedelta(days=7)


@cache
def redis_client() -> redis.Redis:
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              **redis_health.hot_path_options())


def _recipients_state(candidates: Sequence[Candidate]) -> tuple[set[int], set[int]]:
    """(told nothing: missing, deactivated, pending deletion; told only mandatory notices:
    suspended or banned, i.e. not active)."""
    ids = {c.recipient_id for c in candidates}
    rows = list(User.objects.filter(pk__any=ids).values(
        "id", "is_active", "deactivated_at", "deletion_scheduled_for"))
    gone = ids - {row["id"] for row in rows}
    suspended: set[int] = set()
    for row in rows:
        if row["deactivated_at"] is not None or row["deletion_scheduled_for"] is not None:
            gone.add(row["id"])
        elif not row["is_active"]:
            suspended.add(row["id"])
    return gone, suspended


def _visible_actors(candidates: Sequence[Candidate]) -> set[int]:
    ids = {c.actor_id for c in candidates if c.actor_id is not None}
    if not ids:
        return set()
    return set(User.objects.filter(social_selectors.discoverable_q(), pk__any=ids)
               .values_list("id", flat=True))


def _live_targets(candidates: Sequence[Candidate]) -> set[tuple[int, str, int]]:
    """(recipient, target type, target id) whose target is still there for the recipient."""
    live: set[tuple[int, str, int]] = set()
    posts: dict[int, set[int]] = defaultdict(set)
    comments: dict[int, set[int]] = defaultdict(set)
    for c in candidates:
        if c.target_id is None:
            continue
        if c.target_type == "post":
            posts[c.recipient_id].add(c.target_id)
        elif c.target_type == "comment":
            comments[c.recipient_id].add(c.target_id)
    if comments:
        all_ids = set().union(*comments.values())
        post_of = dict(Comment.objects.filter(pk__any=all_ids, status=Comment.Status.VISIBLE)
                       .values_list("id", "post_id"))
        for recipient, ids in comments.items():
            for comment_id in ids:
                if comment_id in post_of:
                    posts[recipient].add(post_of[comment_id])
    published = set(Post.objects.filter(
        pk__any=set().union(*posts.values()) if posts else set(),
        status=Post.Status.PUBLISHED).values_list("id", flat=True)) if posts else set()
    seen: dict[int, set[int]] = {recipient: set() for recipient in posts}
    # A post anyone may see signed out is seen by every signed-in person not in a block
    # pair with its author (content.selectors.visible_to_q): a fan-out of one post to a
    # million followers costs a few queries per batch, not one per recipient. A mute or
    # block pair goes the per-recipient way below.
    for_all = content_selectors.visible_post_ids_for(viewer=None, post_ids=published)
    author_of = dict(Post.objects.filter(pk__any=for_all).values_list("id", "author_id"))
    pairs = {(recipient, author_of[pk]) for recipient, ids in posts.items()
             for pk in ids & for_all}
    silenced = social_selectors.silenced_pairs(pairs)
    rest: dict[int, set[int]] = {}
    for recipient, ids in posts.items():
        for pk in ids & published:
            if pk in for_all and (recipient, author_of[pk]) not in silenced:
                seen[recipient].add(pk)
            else:
                rest.setdefault(recipient, set()).add(pk)
    viewers = User.objects.in_bulk(list(rest))  # their age decides age-restricted posts
    for recipient, ids in rest.items():
        # one query per recipient left (usually one: the owner of the liked post)
        if recipient in viewers:
            seen[recipient] |= content_selectors.visible_post_ids_for(
                viewer=viewers[recipient], post_ids=ids)
    for recipient in posts:
        live |= {(recipient, "post", pk) for pk in seen[recipient]}
    for recipient, ids in comments.items():
        live |= {(recipient, "comment", pk) for pk in ids
                 if pk in post_of and post_of[pk] in seen.get(recipient, set())}
    return live


def _in_app_off(candidates: Sequence[Candidate]) -> set[tuple[int, str]]:
    optional = [c for c in candidates if not types.get(c.type).mandatory]
    if not optional:
        return set()
    return set(Preference.objects.filter(
        user_id__any={c.recipient_id for c in optional}, type__any={c.type for c in optional},
        channel=types.Channel.IN_APP, enabled=False).values_list("user_id", "type"))


def _within_budget(candidates: Sequence[Candidate], now: datetime) -> list[Candidate]:
    limited = [c for c in candidates
               if c.actor_id is not None and types.get(c.type).velocity_limited]
    if not limited:
        return list(candidates)
    actors = {c.actor_id for c in limited if c.actor_id is not None}
    joined = dict(User.objects.filter(pk__any=actors).values_list("id", "date_joined"))
    hour = int(now.timestamp()) // 3600
    wanted: dict[int, int] = defaultdict(int)
    for c in limited:
        assert c.actor_id is not None
        wanted[c.actor_id] += 1
    try:
        pipe = redis_client().pipeline(transaction=False)
        for actor, n in wanted.items():
            key = f"notifications:velocity:{actor}:{hour}"
            pipe.incrby(key, n)
            pipe.expire(key, 7200)
        totals = pipe.execute()[::2]
    except redis_health.OUTAGE_ERRORS as exc:
        logger.warning("notifications: sender budgets not enforced, Redis unavailable (%s)", exc)
        return list(candidates)
    allowance: dict[int, int] = {}
    for (actor, n), total in zip(wanted.items(), totals, strict=True):
        joined_at = joined.get(actor)
        budget = sender_budget(new_account=joined_at is None
                               or now - joined_at < NEW_ACCOUNT_AGE)
        allowance[actor] = max(0, min(n, budget - (int(total) - n)))
    limited_ids = {id(c) for c in limited}
    kept: list[Candidate] = []
    for c in candidates:
        if id(c) in limited_ids:
            assert c.actor_id is not None
            if allowance[c.actor_id] <= 0:
                continue
            allowance[c.actor_id] -= 1
        kept.append(c)
    return kept


def allowed(candidates: Sequence[Candidate], *, now: datetime) -> list[Candidate]:
    """The candidates the rules let through (see the module docstring)."""
    todo = [c for c in candidates if c.actor_id != c.recipient_id]
    if not todo:
        return []
    gone, suspended = _recipients_state(todo)
    todo = [c for c in todo if c.recipient_id not in gone
            and (c.recipient_id not in suspended or types.get(c.type).told_when_suspended)]
    with_actor = [c for c in todo if c.actor_id is not None]
    if with_actor:
        visible = _visible_actors(with_actor)
        silenced = social_selectors.silenced_pairs(
            (c.recipient_id, c.actor_id) for c in with_actor if c.actor_id is not None)
        todo = [c for c in todo if c.actor_id is None or (
            c.actor_id in visible and (c.recipient_id, c.actor_id) not in silenced)]
    targeted = [c for c in todo if c.target_type in ("post", "comment")]
    if targeted:
        live = _live_targets(targeted)
        todo = [c for c in todo if c.target_type not in ("post", "comment")
                or (c.recipient_id, c.target_type, c.target_id) in live]
    off = _in_app_off(todo)
    todo = [c for c in todo if (c.recipient_id, c.type) not in off]
    return _within_budget(todo, now)


def still_relevant(candidate: Candidate) -> bool:
    """Whether what a candidate told may still be pushed now (a push held through quiet
    hours): the rules of `allowed` for its recipient, actor and target as they are now,
    and the type still on in-app; not the sender's budget (spent when it was made)."""
    gone, suspended = _recipients_state([candidate])
    if candidate.recipient_id in gone or (
            candidate.recipient_id in suspended
            and not types.get(candidate.type).told_when_suspended):
        return False
    if candidate.actor_id is not None and (
            candidate.actor_id not in _visible_actors([candidate])
            or social_selectors.silenced_pairs([(candidate.recipient_id, candidate.actor_id)])):
        return False
    if candidate.target_type in ("post", "comment") and (
            candidate.recipient_id, candidate.target_type, candidate.target_id
    ) not in _live_targets([candidate]):
        return False
    return not _in_app_off([candidate])
