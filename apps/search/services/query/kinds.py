"""One ranker per kind (accounts, videos, sounds, hashtags): the engine's candidates, then
query-time safety (`apps.search.selectors`, one statement per kind: the one rule for what
this viewer may find), then the viewer's ranking (`ranking`). The Top tab mixes them
(`query.top`); lives are matched apart (`query.lives`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import selectors as analytics_selectors
from apps.content.models import Post
from apps.moderation.detection.selectors import search_blocked_names
from apps.search import selectors
from apps.search.engine import Hit, Kind
from apps.search.services import ranking, retrieval
from apps.search.services.query.answer import Item, Viewer, language_of

# The creators a viewer finished or liked videos of, looked at for ranking.
WATCHED_POSTS = 200


def signals_of(viewer: Viewer) -> ranking.ViewerSignals:
    """The creators the viewer finished or liked videos of (two queries, signed in only)."""
    if not isinstance(viewer, User) or not viewer.is_authenticated:
        return ranking.ViewerSignals()
    post_ids = analytics_selectors.completed_post_ids(user_id=viewer.pk, limit=WATCHED_POSTS)
    if not post_ids:
        return ranking.ViewerSignals()
    authors = Post.objects.filter(pk__in=post_ids).values_list("author_id", flat=True)
    return ranking.ViewerSignals(watched=Counter(authors))


def _hits(kind: Kind, query: str, window: int, prefix: bool,
          hits: Sequence[Hit] | None) -> Sequence[Hit]:
    """The engine's candidates: `hits` when the caller asked already (Top), else now."""
    if hits is not None:
        return hits
    return retrieval.keyword_hits(kind, query, limit=window, prefix=prefix)


def ranked_accounts(query: str, viewer: Viewer, window: int, prefix: bool,
                    signals: ranking.ViewerSignals | None = None,
                    hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("account", query, window, prefix, hits))
    rows = selectors.visible_accounts(viewer=viewer, ids=list(relevance))
    signals = signals if signals is not None else signals_of(viewer)
    scored = sorted(rows.values(), key=lambda u: (
        -ranking.account_score(u, relevance[u.pk], signals), -u.followers_count, -u.pk))
    return [("account", user) for user in scored]


@dataclass
class Semantic:
    """Whether a full video search fuses semantic candidates: None until the first page
    decides (`retrieval.video_relevance`); the cursor carries the decision, so that every
    page of one search cuts the same ranking."""

    use: bool | None = None


def ranked_videos(query: str, viewer: Viewer, window: int, prefix: bool,
                  signals: ranking.ViewerSignals | None = None,
                  semantic: Semantic | None = None,
                  hits: Sequence[Hit] | None = None) -> list[Item]:
    """Ranked on a few columns of each candidate (`selectors.video_facts`); the page's
    posts are loaded for display afterwards (`for_display`)."""
    semantic = semantic if semantic is not None else Semantic()
    relevance, semantic.use = retrieval.video_relevance(query, limit=window, prefix=prefix,
                                                        semantic=semantic.use, hits=hits)
    facts = selectors.video_facts(viewer=viewer, ids=list(relevance))
    return videos_by_score(facts, relevance, viewer, signals)


def videos_by_score(facts: dict[int, selectors.VideoFacts], relevance: dict[int, float],
                    viewer: Viewer, signals: ranking.ViewerSignals | None) -> list[Item]:
    signals = signals if signals is not None else signals_of(viewer)
    now = timezone.now()
    scored = sorted(facts.values(), key=lambda v: (
        -ranking.video_score(v, relevance[v.pk], signals, now=now), -v.pk))
    return [("video", video) for video in scored]


def for_display(page: list[Item]) -> list[Item]:
    """The page's videos (ranked as `VideoFacts`) as posts joined for display: one query
    for the page, whatever the number of candidates ranked."""
    ids = [row.pk for kind, row in page if kind == "video"]
    if not ids:
        return page
    posts = selectors.videos_for_display(ids)
    return [(kind, posts[row.pk] if kind == "video" else row) for kind, row in page
            if kind != "video" or row.pk in posts]  # a post deleted a moment ago is left out


def ranked_sounds(query: str, viewer: Viewer, window: int, prefix: bool,
                  hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("sound", query, window, prefix, hits))
    rows = selectors.visible_sounds(viewer=viewer, ids=list(relevance))
    scored = sorted(rows.values(), key=lambda s: (
        -ranking.sound_score(s, relevance[s.pk]), -s.pk))
    return [("sound", sound) for sound in scored]


def ranked_hashtags(query: str, viewer: Viewer, window: int, prefix: bool,
                    hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("hashtag", query, window, prefix, hits))
    rows = selectors.visible_hashtags(viewer=viewer, ids=list(relevance))
    # A tag carrying a blocked term ("#proana" while typing "pro") is not offered either.
    blocked = search_blocked_names([tag.name for tag in rows.values()],
                                   language=language_of(viewer, "")) if rows else set()
    scored = sorted((t for t in rows.values() if t.name not in blocked), key=lambda t: (
        -ranking.hashtag_score(t, relevance[t.pk]), -t.pk))
    return [("hashtag", tag) for tag in scored]
