"""Feed writes: interests, "not interested", pool refresh, post embeddings, ranker
training and activation."""

from __future__ import annotations

import hashlib
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.accounts.models import User
from apps.content.captions import entity_hashtags
from apps.content.models import Post
from apps.content.selectors import get_post_for
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, NotFoundError
from apps.feed import online, pools
from apps.feed.models import NotInterested, PostEmbedding, RankerModel, UserInterests
from apps.feed.topics import MAX_INTERESTS, TOPICS

logger = logging.getLogger(__name__)


def interests_set(*, user: User, interests: list[str]) -> list[str]:
    unknown = sorted({i for i in interests if i not in TOPICS})
    if unknown:
        raise ApplicationError("Unknown interests.", code="invalid",
                               fields={"interests": [f"Unknown topic: {t}" for t in unknown]})
    chosen = list(dict.fromkeys(interests))[:MAX_INTERESTS]
    UserInterests.objects.update_or_create(user_id=user.pk, defaults={"interests": chosen})
    return chosen


def not_interested(*, user: User, post_id: int | str) -> NotInterested:
    """Record it (idempotent) so the very next page leaves the post out and damps its
    author, sound and hashtags; the post joins the seen-set too. The event path calls
    this as well (with a post the user may see)."""
    post = get_post_for(viewer=user, post_id=post_id)
    tags = [tag.lower() for tag in entity_hashtags(post.caption_entities)]
    try:
        with transaction.atomic():
            row, _ = NotInterested.objects.get_or_create(
                user_id=user.pk, post_id=post.pk,
                defaults={"author_id": post.author_id, "sound_id": post.sound_id,
                          "hashtags": tags})
    except IntegrityError:  # a concurrent duplicate
        row = NotInterested.objects.get(user_id=user.pk, post_id=post.pk)
    online.mark_seen(online.viewer_key(user_id=int(user.pk), session_id=None), [post.pk])
    return row


def refresh_pools() -> int:
    """Rebuild and publish the candidate pools; returns how many posts they cover."""
    return len(pools.refresh().catalogue)


# --- embeddings --------------------------------------------------------------------------------


def post_text(post: Post, *, tags: list[str], sound_title: str | None) -> str:
    parts = [post.caption or ""]
    if tags:
        parts.append(" ".join(f"#{t}" for t in tags))
    if sound_title:
        parts.append(f"sound: {sound_title}")
    return " \n".join(p for p in parts if p).strip() or "video"


def embed_posts(*, limit: int = 256, batch: int = 32) -> int:
    """Embed published posts that have no embedding (or whose text changed since)."""
    from apps.feed.embeddings import encode

    missing = (Post.objects.filter(status=Post.Status.PUBLISHED)
               .filter(~Exists(PostEmbedding.objects.filter(post_id=OuterRef("pk"))))
               .select_related("sound").order_by("-id")[:limit])
    posts = list(missing)
    done = 0
    for start in range(0, len(posts), batch):
        chunk = posts[start:start + batch]
        texts = []
        for post in chunk:
            texts.append(post_text(post, tags=entity_hashtags(post.caption_entities),
                                   sound_title=post.sound.title if post.sound else None))
        vectors = encode(texts)
        rows = [PostEmbedding(post_id=post.pk, vector=vec.tolist(),
                              text_hash=hashlib.md5(text.encode(), usedforsecurity=False)
                              .hexdigest())
                for post, text, vec in zip(chunk, texts, vectors, strict=True)]
        PostEmbedding.objects.bulk_create(rows, update_conflicts=True,
                                          unique_fields=["post"],
                                          update_fields=["vector", "text_hash", "updated_at"])
        done += len(rows)
    return done


# --- the ranker ----------------------------------------------------------------------------------


def ranker_activate(*, version: int, actor: Actor = None, reason: str = "",
                    ip: str | None = None) -> RankerModel:
    """Make one version the active ranker (serving processes pick it up within seconds).
    Recorded in the audit trail (`actor` None: training activated it)."""
    with transaction.atomic():
        target = RankerModel.objects.select_for_update().filter(version=version).first()
        if target is None:
            raise NotFoundError("No such ranker version.")
        previous = list(RankerModel.objects.filter(is_active=True).exclude(pk=target.pk)
                        .values_list("version", flat=True))
        RankerModel.objects.filter(is_active=True).exclude(pk=target.pk).update(
            is_active=False)
        target.is_active = True
        target.activated_at = timezone.now()
        target.save(update_fields=["is_active", "activated_at"])
        record_audit(actor=actor, action="feed.ranker_activate", target=target, reason=reason,
                     ip=ip, version=target.version, previous=previous)
    return target


def ranker_train(*, n_jobs: int = 2, activate: bool = False) -> RankerModel:
    """Train a new ranker version from the aggregates and store it with its metrics.
    Staff activate it in the admin (or `activate=True`, e.g. the very first model)."""
    from apps.feed import training

    events, catalogue, follows, languages = training.load_events()
    result = training.train(events, catalogue, follows=follows, languages=languages,
                            countries=training.user_countries(events), n_jobs=n_jobs)
    row: RankerModel = training.save_model(result)
    logger.info("feed: trained ranker v%s on %s events: %s", row.version, len(events),
                result.metrics)
    if activate:
        row = ranker_activate(version=row.version, reason="trained with activate")
    return row
