"""Reads of history, suggestions, trending and discover (the API's and the web page's).

Everything shown goes through search's query-time rules (apps.search.selectors: the
owner apps' visibility, blocks, search bans) and, for texts anyone may see, the blocked
search terms (moderation's "search_blocked" lists). Each read is a fixed number of queries
whatever the list sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.models import Hashtag, Post, Sound
from apps.moderation.detection.selectors import search_blocked_among
from apps.search import selectors
from apps.search.models import SearchHistory, SearchPositionDay, SearchTermHour, Trending
from apps.search.selectors import Viewer
from apps.search.services.history import query_key
from apps.search.services.retrieval import keyword_hits

HISTORY_LIMIT = 20
SUGGESTIONS_LIMIT = 8
TRENDING_SEARCHES = 10
TRENDING_HASHTAGS = 10
DISCOVER_HASHTAGS = 6
VIDEOS_PER_HASHTAG = 6
DISCOVER_SOUNDS = 8
DISCOVER_CREATORS = 10
RISING_SOUNDS_WINDOW = timedelta(days=7)
SUGGESTION_KINDS = ("history", "trending", "completion")


# --- history ---------------------------------------------------------------------------------


def history_for(*, user: User, limit: int = HISTORY_LIMIT) -> list[SearchHistory]:
    """The user's recent searches, newest first."""
    return list(SearchHistory.objects.filter(user=user).order_by("-searched_at", "-id")[:limit])


# --- trending --------------------------------------------------------------------------------


def trending_searches(*, limit: int = TRENDING_SEARCHES) -> list[str]:
    """The trending queries, best first, blocked terms left out (a term blocked since the
    last computation too)."""
    terms = list(Trending.objects.filter(kind=Trending.Kind.SEARCH).order_by("rank")
                 .values_list("term", flat=True)[:limit * 2])
    blocked = search_blocked_among(terms)
    return [term for term in terms if term not in blocked][:limit]


def trending_hashtags(*, viewer: Viewer, limit: int = TRENDING_HASHTAGS) -> list[Hashtag]:
    """The trending hashtags the viewer may find, best first; while fewer have trended (a
    young site), the most used ones fill the list. Both go through search's hashtag rule
    (`selectors.visible_hashtags`) in one query."""
    ids = list(Trending.objects.filter(kind=Trending.Kind.HASHTAG).order_by("rank")
               .values_list("hashtag_id", flat=True)[:limit * 2])
    ids += [tag.pk for tag in content_selectors.popular_hashtags_for(viewer=viewer,
                                                                     limit=limit * 2)]
    found = selectors.visible_hashtags(viewer=viewer, ids=[i for i in ids if i is not None])
    tags = [found[i] for i in dict.fromkeys(ids) if i in found]
    blocked = search_blocked_among([tag.name for tag in tags])
    return [tag for tag in tags if tag.name not in blocked][:limit]


# --- suggestions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    query: str
    kind: str  # "history" | "trending" | "completion"


def _completions(*, viewer: Viewer, prefix: str, limit: int) -> list[str]:
    """Hashtag names and usernames the index completes the prefix to, through the same
    query-time rules as results."""
    # Through retrieval's engine call: a failing index degrades to no completions, as it
    # degrades a search to no results, rather than a 500.
    tag_ids = [hit.id for hit in keyword_hits("hashtag", prefix, limit=limit, prefix=True)]
    user_ids = [hit.id for hit in keyword_hits("account", prefix, limit=limit, prefix=True)]
    tags = selectors.visible_hashtags(viewer=viewer, ids=tag_ids)
    users = selectors.visible_accounts(viewer=viewer, ids=user_ids)
    names = [tags[i].name for i in tag_ids if i in tags]
    names += [users[i].username for i in user_ids if i in users]
    return names


def suggestions_for(*, viewer: Viewer, prefix: str,
                    limit: int = SUGGESTIONS_LIMIT) -> list[Suggestion]:
    """What to offer under the search box as the user types: their own past searches that
    start with it, then trending searches that do, then completions from the index. Nothing
    for a prefix with no text or that holds a blocked search term; no blocked term offered."""
    key = query_key(prefix)
    if not key or search_blocked_among([prefix]):
        return []
    out: list[Suggestion] = []
    seen: set[str] = set()

    def offer(text: str, kind: str) -> None:
        folded = query_key(text)
        if folded and folded not in seen and len(out) < limit:
            seen.add(folded)
            out.append(Suggestion(text, kind))

    viewer_id = selectors.viewer_id_of(viewer)
    if viewer_id is not None:
        for query in SearchHistory.objects.filter(user_id=viewer_id, normalized__startswith=key) \
                .order_by("-searched_at", "-id").values_list("query", flat=True)[:limit]:
            offer(query, "history")
    for term in Trending.objects.filter(kind=Trending.Kind.SEARCH, term__startswith=key) \
            .order_by("rank").values_list("term", flat=True)[:limit]:
        offer(term, "trending")
    if len(out) < limit:
        for text in _completions(viewer=viewer, prefix=prefix, limit=limit):
            offer(text, "completion")
    blocked = search_blocked_among([s.query for s in out])
    return [s for s in out if s.query not in blocked]


# --- click-through ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionCtr:
    position: int
    impressions: int
    clicks: int

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None


def ctr_by_position(*, tab: str | None = None, days: int = 7,
                    positions: int = 20) -> list[PositionCtr]:
    """Click-through of search results by position over the last `days` UTC days (all tabs
    or one), from the `search` and `search_click` events."""
    since = (timezone.now() - timedelta(days=days - 1)).date()
    rows = SearchPositionDay.objects.filter(day__gte=since, position__lt=positions)
    if tab is not None:
        rows = rows.filter(tab=tab)
    summed = rows.values("position").order_by("position").annotate(
        shown=Sum("impressions"), clicked=Sum("clicks"))
    return [PositionCtr(row["position"], row["shown"] or 0, row["clicked"] or 0)
            for row in summed]


@dataclass(frozen=True)
class QueryCtr:
    query: str
    searches: int
    clicks: int

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.searches if self.searches else None


def ctr_by_query(*, days: int = 7, limit: int = 50) -> list[QueryCtr]:
    """The most searched queries of the last `days` days with the clicks on their results
    (a query whose searches rarely get a click is one search answers badly)."""
    since = timezone.now() - timedelta(days=days)
    rows = SearchTermHour.objects.filter(hour__gte=since).values("term").annotate(
        searched=Sum("searches"), clicked=Sum("clicks")).order_by("-searched", "term")[:limit]
    return [QueryCtr(row["term"], row["searched"] or 0, row["clicked"] or 0) for row in rows]


# --- discover --------------------------------------------------------------------------------


@dataclass
class DiscoverPage:
    hashtags: list[tuple[Hashtag, list[Post]]] = field(default_factory=list)
    sounds: list[Sound] = field(default_factory=list)
    creators: list[User] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)


def _top_videos(*, viewer: Viewer, tag_ids: Sequence[int],
                per_tag: int) -> dict[int, list[Post]]:
    """The most viewed posts the viewer may find under each hashtag: one query (a row
    number per hashtag), joined for display."""
    if not tag_ids:
        return {}
    ranked = (selectors.findable_videos(viewer=viewer)
              .filter(post_hashtags__hashtag_id__in=list(tag_ids))
              .annotate(tag_id=F("post_hashtags__hashtag_id"),
                        tag_rank=Window(RowNumber(), partition_by=F("post_hashtags__hashtag_id"),
                                        order_by=(F("views_count").desc(), F("id").desc())))
              .filter(tag_rank__lte=per_tag)
              .order_by("tag_id", "tag_rank"))
    out: dict[int, list[Post]] = {}
    for post in content_selectors.for_display(ranked):
        out.setdefault(post.tag_id, []).append(post)  # type: ignore[attr-defined]
    return out


def rising_sounds(*, viewer: Viewer, limit: int = DISCOVER_SOUNDS) -> list[Sound]:
    """Sounds the viewer may find, most used by posts published in the last 7 days first
    (then by all-time use)."""
    since = timezone.now() - RISING_SOUNDS_WINDOW
    return list(selectors.findable_sounds(viewer=viewer).filter(posts_count__gt=0)
                .annotate(recent_uses=Count("posts", filter=Q(
                    posts__status=Post.Status.PUBLISHED, posts__published_at__gte=since)))
                .order_by("-recent_uses", "-posts_count", "-id")[:limit])


def suggested_creators(*, viewer: Viewer, limit: int = DISCOVER_CREATORS) -> list[User]:
    """Popular accounts the viewer may find and does not follow yet (never themselves),
    with at least one video the viewer may find: so never a private account, nor a
    protected minor to a stranger (the recommendation rule of their posts)."""
    has_video = Exists(selectors.findable_videos(viewer=viewer).filter(author_id=OuterRef("pk")))
    rows = selectors.findable_accounts(viewer=viewer).filter(has_video)
    viewer_id = selectors.viewer_id_of(viewer)
    if viewer_id is not None:
        # `you_follow` is findable_accounts' annotation (Q: the stubs do not see it)
        rows = rows.exclude(pk=viewer_id).filter(Q(you_follow=False))
    return list(rows.order_by("-followers_count", "-id")[:limit])


def discover_for(*, viewer: Viewer) -> DiscoverPage:
    """The discover page: trending hashtags with their top videos, rising sounds, suggested
    creators and trending searches. A fixed number of queries."""
    tags = trending_hashtags(viewer=viewer, limit=DISCOVER_HASHTAGS)
    videos = _top_videos(viewer=viewer, tag_ids=[tag.pk for tag in tags],
                         per_tag=VIDEOS_PER_HASHTAG)
    return DiscoverPage(
        hashtags=[(tag, videos.get(tag.pk, [])) for tag in tags],
        sounds=rising_sounds(viewer=viewer),
        creators=suggested_creators(viewer=viewer),
        searches=trending_searches(),
    )
