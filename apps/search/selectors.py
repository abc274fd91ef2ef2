"""Search's reads: the query-time safety rule, one queryset per result kind.

The index is derived and may lag (or still hold a post taken down a moment ago), so every
candidate id the engine or the vector search returns goes through these before anything is
shown: the visibility rules of the owner apps, plus search's own exclusions. Each kind is
ONE query for all candidates (EXISTS subqueries, the display joins included), so a page
costs the same whatever its size. The rules:

- videos: `content.selectors.visible_posts_for` (removed, draft, scheduled, private unless
  followed, friends-only, age-restricted for minors and signed-out viewers, blocked either
  way, undiscoverable authors), published only (an author's own drafts are not results),
  `content.audience.recommendable_q` (limited-reach posts and protected minors' posts to
  strangers: search is a discovery surface), muted authors dropped, and no search ban on
  the post or its author (`moderation.selectors.search_banned_q`);
- accounts: `social.selectors.discoverable_q`, not blocked either way, no search ban.
  Private accounts are found (as on TikTok: one finds them to request a follow); their
  videos are not, unless followed;
- sounds: `content.selectors.sound_visible_q` (library sounds, originals a visible post
  uses) and not taken down;
- hashtags: on at least one video the viewer may find (the videos rule);
- lives: live's one rule (`live.selectors.live_tab`, built on `visible_lives_q`: on air,
  the audience, blocks, the host's bans; not the viewer's own, not muted hosts), and no
  search ban on the host. Lives are not indexed: the few on air are read from PostgreSQL
  at each search (`findable_lives`).

Building these rules through the ORM costs more Python time than PostgreSQL spends running
them, so the candidate statements are compiled once per viewer state and day
(`apps.core.compiled_sql`) and a search only binds its candidate ids. Videos are ranked on a
few columns (`video_facts`) and only the page is loaded for display (`videos_for_display`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Exists, Model, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.audience import recommendable_q
from apps.content.models import Hashtag, Post, PostHashtag, Sound
from apps.core import compiled_sql
from apps.live import selectors as live_selectors
from apps.live.models import LiveStream
from apps.moderation.models import TargetType
from apps.moderation.selectors import search_banned_q
from apps.social.models import Follow
from apps.social.selectors import SUMMARY_FIELDS, blocked_either_way, discoverable_q

Viewer = User | AnonymousUser | None
M = TypeVar("M", bound=Model)


def viewer_id_of(viewer: Viewer) -> int | None:
    """The signed-in viewer's id, None when signed out."""
    return int(viewer.pk) if viewer is not None and viewer.is_authenticated else None


def _candidates(slot: Any) -> RawSQL:
    """`pk__in` the candidate ids, bound as one array parameter (compiled_sql's slot)."""
    return RawSQL("SELECT unnest(%s::bigint[])", (slot,))


def _raw_rows(model: type[M], findable: Callable[..., QuerySet[M]], viewer: Viewer,
              ids: Iterable[int]) -> dict[int, M]:
    """The candidates among `ids` that `findable(viewer=viewer)` holds, as model instances
    with its columns and annotations. Its SQL is compiled once per viewer state (building
    the queryset is the expensive part: only on the first call)."""
    sql, params = compiled_sql.statement(
        (f"search.{findable.__name__}", compiled_sql.viewer_key(viewer)),
        lambda slot: findable(viewer=viewer).filter(pk__in=_candidates(slot)),
        [int(i) for i in ids])
    return {row.pk: row for row in model._default_manager.raw(sql, params)}


def findable_accounts(*, viewer: Viewer) -> QuerySet[User]:
    """Every account the viewer may find (the accounts rule above), `you_follow` annotated
    for a signed-in viewer; discover's suggested creators use it too."""
    viewer_id = viewer_id_of(viewer)
    rows = (User.objects.filter(discoverable_q(viewer_id=viewer_id))
            .exclude(search_banned_q(TargetType.USER))
            .only(*SUMMARY_FIELDS, "followers_count"))
    if viewer_id is not None:
        rows = rows.exclude(blocked_either_way(viewer_id))
        rows = rows.annotate(you_follow=Exists(Follow.objects.filter(
            follower_id=viewer_id, followee_id=OuterRef("pk"))))
    return rows


def visible_accounts(*, viewer: Viewer, ids: Sequence[int]) -> dict[int, User]:
    """The candidate accounts the viewer may find, with `you_follow` annotated."""
    if not ids:
        return {}
    return _raw_rows(User, findable_accounts, viewer, ids)


def findable_videos(*, viewer: Viewer) -> QuerySet[Post]:
    """Every post the viewer may find (the videos rule above); discover's hashtag videos
    use it too."""
    posts = (content_selectors.visible_posts_for(viewer=viewer)
             .filter(status=Post.Status.PUBLISHED)
             .filter(recommendable_q(viewer))
             .exclude(search_banned_q(TargetType.POST)))
    return content_selectors.without_muted_authors(posts, viewer=viewer)


def visible_videos(*, viewer: Viewer, ids: Sequence[int]) -> dict[int, Post]:
    """The candidate posts the viewer may find, joined for display (author, asset, sound,
    the public-media flag), with `author_followed` annotated for ranking."""
    if not ids:
        return {}
    posts = findable_videos(viewer=viewer).filter(pk__in=list(ids))
    viewer_id = viewer_id_of(viewer)
    if viewer_id is not None:
        posts = posts.annotate(author_followed=Exists(Follow.objects.filter(
            follower_id=viewer_id, followee_id=OuterRef("author_id"))))
    return {post.pk: post for post in content_selectors.for_display(posts)}


class VideoFacts(NamedTuple):
    """What ranking reads of a candidate video (`video_facts`)."""

    pk: int
    author_id: int
    views_count: int
    published_at: datetime | None
    created_at: datetime
    author_verified: bool
    author_followed: bool  # the viewer follows the author (False signed out)


def video_facts(*, viewer: Viewer, ids: Sequence[int]) -> dict[int, VideoFacts]:
    """The candidate posts the viewer may find (`findable_videos`), as the few columns
    ranking reads: no model instances (a page shows 20 of up to 150 candidates)."""
    if not ids:
        return {}
    found = compiled_sql.rows(*_video_facts_call(viewer, ids))
    return {row[0]: VideoFacts(*row) for row in found}


def video_facts_and_on_air(*, viewer: Viewer, ids: Sequence[int]
                           ) -> tuple[dict[int, VideoFacts], bool]:
    """`video_facts` and whether anything is on air (`findable_lives`' probe) in one
    round trip: Top needs both."""
    if not ids:
        return {}, _anything_on_air()
    facts, on_air = compiled_sql.rows_together(_video_facts_call(viewer, ids), _ON_AIR_CALL)
    return {row[0]: VideoFacts(*row) for row in facts}, bool(on_air)


def _video_facts_call(viewer: Viewer, ids: Sequence[int]
                      ) -> tuple[Any, Callable[[Any], QuerySet[Any]], list[int]]:
    viewer_id = viewer_id_of(viewer)

    def build(slot: Any) -> QuerySet[Any]:
        followed: Exists | Value = Value(False, output_field=BooleanField())
        if viewer_id is not None:
            followed = Exists(Follow.objects.filter(follower_id=viewer_id,
                                                    followee_id=OuterRef("author_id")))
        return (findable_videos(viewer=viewer).filter(pk__in=_candidates(slot))
                .annotate(author_followed=followed)
                .values_list(*VideoFacts._fields[:5], "author__is_verified", "author_followed"))

    return (("search.video_facts", compiled_sql.viewer_key(viewer)), build,
            [int(i) for i in ids])


def videos_for_display(ids: Sequence[int]) -> dict[int, Post]:
    """The page's posts joined for display (`content.selectors.for_display`), one query.
    Only for ids `video_facts` just returned for this viewer: the rule ran there."""
    if not ids:
        return {}

    def build(slot: Any) -> QuerySet[Post]:
        return content_selectors.for_display(
            Post.objects.filter(pk__in=_candidates(slot), status=Post.Status.PUBLISHED))

    # Compiled once per day (the public-media flag is the signed-out rule, whose age
    # cut-offs move with the date): building and compiling the joined queryset was most
    # of a page's display cost.
    posts = compiled_sql.instances(("search.videos_for_display", compiled_sql.viewer_key(None)),
                                   build, [int(i) for i in ids])
    return {post.pk: post for post in posts}


def findable_sounds(*, viewer: Viewer) -> QuerySet[Sound]:
    """Every sound the viewer may find (the sounds rule above)."""
    return Sound.objects.filter(content_selectors.sound_visible_q(viewer), is_taken_down=False)


def visible_sounds(*, viewer: Viewer, ids: Sequence[int]) -> dict[int, Sound]:
    if not ids:
        return {}
    return _raw_rows(Sound, findable_sounds, viewer, ids)


def findable_hashtags(*, viewer: Viewer) -> QuerySet[Hashtag]:
    """Hashtags on at least one video the viewer may find (`findable_videos`): a tag whose
    only posts are removed, private, search-banned or by people the viewer blocked or muted
    is not offered (stricter than `content.selectors.hashtag_seen_q`)."""
    return Hashtag.objects.filter(Exists(PostHashtag.objects.filter(
        hashtag_id=OuterRef("pk"), post_id__in=findable_videos(viewer=viewer).values("pk"))))


def visible_hashtags(*, viewer: Viewer, ids: Sequence[int]) -> dict[int, Hashtag]:
    if not ids:
        return {}
    return _raw_rows(Hashtag, findable_hashtags, viewer, ids)


# At most this many lives on air are looked at per search (the newest first, as the Live
# tab reads them): on-air lives are a small set, read from PostgreSQL at each search.
LIVE_CANDIDATES = 500


def findable_lives(*, viewer: Viewer, on_air: bool | None = None) -> list[LiveStream]:
    """The lives on air the viewer may watch, in the Live tab's order (hosts they follow
    first, then by viewers now, then the newest; `viewer_count` set), hosts under a search
    ban left out. Two queries and one Redis round trip; none of the text matching (that is
    the query service's, on these few rows). When nothing is on air (most of the time),
    one compiled probe instead: building the Live tab's query cost more than the rest of a
    Top search. `on_air`: the probe's answer when the caller read it already
    (`video_facts_and_on_air`)."""
    if not (_anything_on_air() if on_air is None else on_air):
        return []
    lives = live_selectors.live_tab(viewer, limit=LIVE_CANDIDATES)
    if not lives:
        return []
    banned = set(User.objects.filter(pk__in={live.host_id for live in lives})
                 .filter(search_banned_q(TargetType.USER)).values_list("pk", flat=True))
    return [live for live in lives if live.host_id not in banned]


def _anything_on_air() -> bool:
    """Whether any live is on air at all (whoever may watch it): one indexed probe, its
    statement compiled once. Deciding nothing but whether to ask `live_tab`, which applies
    live's rule, it can never show what a viewer may not see."""
    return bool(compiled_sql.run(*_ON_AIR_CALL))


_ON_AIR_CALL: tuple[Any, Callable[[Any], QuerySet[Any]], int] = (
    ("search.anything_on_air",),
    lambda slot: (LiveStream.objects.filter(state__in=live_selectors.ON_AIR)
                  .filter(pk__gt=RawSQL("%s", (slot,))).values_list("pk")[:1]),
    0)
