"""What the index holds for each kind, built from the owners' rows as they are now.

The index holds candidates only; the search service applies every visibility and safety
rule at query time anyway (a take-down is gone from results at once, whatever the index
still says). Being a candidate is decided here, in one place per kind:
- account: the user row exists (deactivated, unverified or suspended accounts stay
  candidates: the query side hides them, and they come back without re-indexing);
- video: a published post with public visibility (drafts, scheduled, in review, removed,
  followers-only and private posts are deleted from the index);
- sound: not taken down;
- hashtag: counts at least one published post.

`popularity` is followers (accounts), views (videos), published uses (sounds, hashtags),
as of the last time the object was indexed; the service reads live counters for ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts.models import User
from apps.content.models import Hashtag, Post, PostHashtag, Sound
from apps.media.selectors import transcripts_of
from apps.search.engine.base import KINDS, Kind, SearchDoc


def _epoch(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


def _candidates(kind: Kind) -> QuerySet[Any]:
    if kind == "account":
        return User.objects.only("id", "username", "display_name", "followers_count",
                                 "is_verified", "date_joined")
    if kind == "video":
        return (Post.objects.filter(status=Post.Status.PUBLISHED,
                                    visibility=Post.Visibility.PUBLIC)
                .select_related("sound")
                .only("id", "author_id", "asset_id", "caption", "views_count", "published_at",
                      "sound__title", "sound__artist"))
    if kind == "sound":
        return Sound.objects.filter(is_taken_down=False).only(
            "id", "title", "artist", "posts_count", "created_at")
    if kind == "hashtag":
        return Hashtag.objects.filter(posts_count__gt=0)
    raise ValueError(f"unknown kind {kind!r}")


def _hashtags_of(post_ids: Sequence[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for post_id, name in (PostHashtag.objects.filter(post_id__in=post_ids)
                          .order_by("post_id", "hashtag__name")
                          .values_list("post_id", "hashtag__name")):
        names[post_id].append(name)
    return names


def _docs(kind: Kind, rows: Sequence[object]) -> list[SearchDoc]:
    if kind == "account":
        return [SearchDoc(kind="account", id=u.pk, popularity=float(u.followers_count),
                          fields={"handle": u.username, "display_name": u.display_name},
                          created_at=_epoch(u.date_joined),
                          extra={"verified": "1" if u.is_verified else "0"})
                for u in rows if isinstance(u, User)]
    if kind == "video":
        posts = [p for p in rows if isinstance(p, Post)]
        tags = _hashtags_of([p.pk for p in posts])
        spoken = transcripts_of([p.asset_id for p in posts if p.asset_id is not None])
        return [SearchDoc(kind="video", id=p.pk, popularity=float(p.views_count),
                          fields={"caption": p.caption,
                                  "hashtags": " ".join(tags.get(p.pk, ())),
                                  "sound": f"{p.sound.title} {p.sound.artist}".strip()
                                  if p.sound is not None else "",
                                  # spoken words: the asset's caption tracks
                                  "transcript": spoken.get(p.asset_id or 0, "")},
                          created_at=_epoch(p.published_at),
                          extra={"author_id": str(p.author_id)})
                for p in posts]
    if kind == "sound":
        return [SearchDoc(kind="sound", id=s.pk, popularity=float(s.posts_count),
                          fields={"title": s.title, "artist": s.artist},
                          created_at=_epoch(s.created_at))
                for s in rows if isinstance(s, Sound)]
    return [SearchDoc(kind="hashtag", id=h.pk, popularity=float(h.posts_count),
                      fields={"name": h.name}, created_at=_epoch(h.created_at))
            for h in rows if isinstance(h, Hashtag)]


def documents_for(kind: Kind, ids: Sequence[int]) -> tuple[list[SearchDoc], list[int]]:
    """The documents of these objects as they are now, and the ids to delete from the index
    (gone, or no longer candidates)."""
    rows = list(_candidates(kind).filter(pk__in=list(ids)))
    docs = _docs(kind, rows)
    found = {doc.id for doc in docs}
    return docs, [pk for pk in ids if pk not in found]


def stream_documents(kind: Kind, *, batch_size: int) -> Iterator[list[SearchDoc]]:
    """Every candidate of a kind, in batches by primary key (keyset pages: memory stays flat
    and no cursor is held open across the backend's writes)."""
    last = 0
    while True:
        rows = list(_candidates(kind).filter(Q(pk__gt=last)).order_by("pk")[:batch_size])
        if not rows:
            return
        last = rows[-1].pk
        yield _docs(kind, rows)


def candidate_count(kind: Kind) -> int:
    return _candidates(kind).count()


__all__ = ["KINDS", "candidate_count", "documents_for", "stream_documents"]
