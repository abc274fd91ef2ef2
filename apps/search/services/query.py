"""The search use case: `GET /api/v1/search` (contract: docs/architecture.md, "Search").

1. Parse and validate the input (`search_params`): bad input is a 400 in the error shape,
   a query with nothing to search (blank, punctuation, emoji, one character in full mode)
   an empty answer.
2. Blocked search terms (staff term lists, `moderation.detection`): no results, a safety
   notice with help resources.
3. Retrieve candidates per kind (`retrieval`: keyword engine, plus semantic neighbours for
   videos, fused), over-fetched so that what safety drops still leaves full pages.
4. Query-time safety (`apps.search.selectors`: one query per kind), then rank for the viewer
   (`ranking`), then cut the page; the cursor is the signed position in that ranking.
"""

from __future__ import annotations

import logging
import re
import secrets
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import selectors as analytics_selectors
from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.live.models import LiveStream
from apps.moderation.detection.selectors import search_blocked_names, search_blocked_term
from apps.search import selectors
from apps.search.engine import Hit, Kind, get_backend
from apps.search.engine.text import edit_distance, normalize, plan_query, typo_budget
from apps.search.services import cursors, history, ranking, retrieval

logger = logging.getLogger(__name__)

Tab = Literal["top", "accounts", "videos", "sounds", "live", "hashtags"]
TABS: tuple[Tab, ...] = ("top", "accounts", "videos", "sounds", "live", "hashtags")
MODES = ("full", "prefix")
MAX_QUERY_CHARS = 200
DEFAULT_LIMIT, MAX_LIMIT = 20, 30
# Candidates per kind taken from retrieval before safety and ranking (five times the largest
# page). The window is the same for every page, so the pages of one search cut one ranking
# and never overlap or skip; up to this many results per kind can be paged through.
CANDIDATE_WINDOW = 150
# As-you-type: the first page only, over-fetched five times.
PREFIX_OVERFETCH = 5
# The Top tab: accounts whose name is the query (within its typo budget) lead, at most this
# many; then one hashtag and one sound that match strongly; then videos.
TOP_ACCOUNTS = 3
# Then up to this many lives on air whose host or title the query names (TikTok's Top
# shows LIVE results too: a live is there now, and gone when it ends).
TOP_LIVES = 2
# A new full query's embedding (semantic candidates) is waited for on Top only when its
# keyword videos do not fill a page; otherwise the embedding goes on in the background
# and the next search of the same words fuses its candidates (the Videos tab waits
# whenever they do not fill the candidate window).
TOP_SEMANTIC_WAIT_BELOW = DEFAULT_LIMIT
# The creators a viewer finished or liked videos of, looked at for ranking.
WATCHED_POSTS = 200

Viewer = User | AnonymousUser | None
Item = tuple[str, Any]  # ("account" | "video" | "sound" | "live" | "hashtag", the row)


@dataclass(frozen=True)
class SearchParams:
    q: str
    tab: Tab
    prefix: bool
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class Notice:
    code: str
    title: str
    message: str
    links: tuple[tuple[str, str], ...]  # (label, url)


@dataclass
class SearchAnswer:
    query: str
    tab: Tab
    search_id: str
    results: list[Item] = field(default_factory=list)
    next_cursor: str | None = None
    notice: Notice | None = None


def _bad(field_name: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field_name: [message]})


def search_params(params: Mapping[str, str], *, raw_query_string: str = "") -> SearchParams:
    """The validated parameters. `raw_query_string` is checked to be UTF-8 (the request's
    decoded parameters silently replace invalid bytes such as %FF)."""
    try:
        urllib.parse.unquote_to_bytes(raw_query_string.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise ApplicationError("The query string is not valid UTF-8.", code="invalid_encoding",
                               fields={"q": ["Not valid UTF-8."]}) from None
    q = params.get("q", "")
    if "\x00" in q:
        raise _bad("q", "The query contains a NUL character.", "invalid_query")
    q = " ".join(q.split())
    if len(q) > MAX_QUERY_CHARS:
        raise _bad("q", f"Search for at most {MAX_QUERY_CHARS} characters.", "query_too_long")
    tab = params.get("tab") or "top"
    if tab not in TABS:
        raise _bad("tab", f"Unknown tab: one of {', '.join(TABS)}.", "invalid_tab")
    mode = params.get("mode") or "full"
    if mode not in MODES:
        raise _bad("mode", "Unknown mode: full or prefix.", "invalid_mode")
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3
                and 1 <= int(raw_limit) <= MAX_LIMIT):
            raise _bad("limit", f"A whole number from 1 to {MAX_LIMIT}.")
        limit = int(raw_limit)
    cursor = params.get("cursor") or None
    return SearchParams(q=q, tab=tab, prefix=mode == "prefix", limit=limit, cursor=cursor)


# --- blocked terms ---------------------------------------------------------------------------

SAFETY_NOTICE = Notice(
    code="safety",
    title="You are not alone",
    message=("If you are going through something difficult, support is available. You can "
             "talk to someone you trust, or reach a helpline near you: it is free and "
             "confidential. If you are in danger right now, call your local emergency number."),
    links=(("Find a helpline", "https://findahelpline.com"),
           ("Our safety centre", "/help/safety")),
)


# The index is derived: at its first start (or after a corrupt one was thrown away) it is
# rebuilt from PostgreSQL in the background, and searches answer meanwhile from what it
# holds, with this notice so that an empty or thin answer is not taken for "nothing exists".
INDEX_BUILDING_NOTICE = Notice(
    code="index_building",
    title="Search is getting ready",
    message=("We are preparing search right now, so some results may be missing. "
             "Please try again in a few minutes."),
    links=(),
)


def _index_built() -> bool:
    try:
        return get_backend().is_built()
    except Exception:  # an engine that cannot even say: treat as being rebuilt
        logger.exception("search backend state unknown")
        return False


def _language(viewer: Viewer, language: str) -> str:
    if isinstance(viewer, User) and viewer.language:
        return viewer.language
    return language


# --- the use case ----------------------------------------------------------------------------


def search(*, viewer: Viewer, params: SearchParams, language: str = "") -> SearchAnswer:
    """Search for the viewer; every result is one the viewer may see at this moment."""
    plan = plan_query(params.q, prefix=params.prefix)
    answer = SearchAnswer(query=plan.normalized, tab=params.tab,
                          search_id=secrets.token_urlsafe(12))
    max_offset = CANDIDATE_WINDOW + TOP_ACCOUNTS + TOP_LIVES + 2  # the longest (Top's)
    if params.cursor is not None:
        if params.prefix:
            raise _bad("cursor", "As-you-type search has one page: search in full mode.",
                       "invalid_cursor")
        position = cursors.decode(params.cursor, query=plan.normalized, tab=params.tab,
                                  max_offset=max_offset)
        offset, answer.search_id = position.offset, position.search_id
        semantic = _Semantic(use=position.semantic)  # as the first page did
    else:
        offset, semantic = 0, _Semantic()
    # Nothing to search: blank, punctuation or emoji only, or one character typed in full.
    if plan.empty or (not params.prefix and len(plan.normalized.replace(" ", "")) < 2):
        return answer
    if not params.prefix and params.tab in ("top", "videos"):
        retrieval.prefetch_query_vector(plan.normalized)  # overlaps with what follows
    if search_blocked_term(params.q, language=_language(viewer, language)) is not None:
        answer.notice = SAFETY_NOTICE
        return answer
    if not params.prefix and offset == 0:
        # Enter on a search: the signed-in user's history (a blocked term is not kept).
        history.record_search(viewer, params.q)
    window = (params.limit * PREFIX_OVERFETCH) if params.prefix else CANDIDATE_WINDOW
    if params.tab == "videos":
        ranked = _ranked_videos(plan.normalized, viewer, window, params.prefix,
                                semantic=semantic)
    elif params.tab == "top":
        ranked = _ranked_top(plan.normalized, viewer, window, params.prefix, semantic)
    else:
        ranked = _RANKERS[params.tab](plan.normalized, viewer, window, params.prefix)
    answer.results = _for_display(ranked[offset:offset + params.limit])
    if not _index_built():
        answer.notice = INDEX_BUILDING_NOTICE
    end = offset + params.limit
    if not params.prefix and len(ranked) > end:
        answer.next_cursor = cursors.encode(query=plan.normalized, tab=params.tab, offset=end,
                                            search_id=answer.search_id,
                                            semantic=semantic.use is not False)
    return answer


def _signals(viewer: Viewer) -> ranking.ViewerSignals:
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


def _ranked_accounts(query: str, viewer: Viewer, window: int, prefix: bool,
                     signals: ranking.ViewerSignals | None = None,
                     hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("account", query, window, prefix, hits))
    rows = selectors.visible_accounts(viewer=viewer, ids=list(relevance))
    signals = signals if signals is not None else _signals(viewer)
    scored = sorted(rows.values(), key=lambda u: (
        -ranking.account_score(u, relevance[u.pk], signals), -u.followers_count, -u.pk))
    return [("account", user) for user in scored]


@dataclass
class _Semantic:
    """Whether a full video search fuses semantic candidates: None until the first page
    decides (`retrieval.video_relevance`); the cursor carries the decision, so that every
    page of one search cuts the same ranking."""

    use: bool | None = None


def _ranked_videos(query: str, viewer: Viewer, window: int, prefix: bool,
                   signals: ranking.ViewerSignals | None = None,
                   semantic: _Semantic | None = None,
                   hits: Sequence[Hit] | None = None) -> list[Item]:
    """Ranked on a few columns of each candidate (`selectors.video_facts`); the page's
    posts are loaded for display afterwards (`_for_display`)."""
    semantic = semantic if semantic is not None else _Semantic()
    relevance, semantic.use = retrieval.video_relevance(query, limit=window, prefix=prefix,
                                                        semantic=semantic.use, hits=hits)
    facts = selectors.video_facts(viewer=viewer, ids=list(relevance))
    return _videos_by_score(facts, relevance, viewer, signals)


def _videos_by_score(facts: dict[int, selectors.VideoFacts], relevance: dict[int, float],
                     viewer: Viewer, signals: ranking.ViewerSignals | None) -> list[Item]:
    signals = signals if signals is not None else _signals(viewer)
    now = timezone.now()
    scored = sorted(facts.values(), key=lambda v: (
        -ranking.video_score(v, relevance[v.pk], signals, now=now), -v.pk))
    return [("video", video) for video in scored]


def _for_display(page: list[Item]) -> list[Item]:
    """The page's videos (ranked as `VideoFacts`) as posts joined for display: one query
    for the page, whatever the number of candidates ranked."""
    ids = [row.pk for kind, row in page if kind == "video"]
    if not ids:
        return page
    posts = selectors.videos_for_display(ids)
    return [(kind, posts[row.pk] if kind == "video" else row) for kind, row in page
            if kind != "video" or row.pk in posts]  # a post deleted a moment ago is left out


def _ranked_sounds(query: str, viewer: Viewer, window: int, prefix: bool,
                   hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("sound", query, window, prefix, hits))
    rows = selectors.visible_sounds(viewer=viewer, ids=list(relevance))
    scored = sorted(rows.values(), key=lambda s: (
        -ranking.sound_score(s, relevance[s.pk]), -s.pk))
    return [("sound", sound) for sound in scored]


def _ranked_hashtags(query: str, viewer: Viewer, window: int, prefix: bool,
                     hits: Sequence[Hit] | None = None) -> list[Item]:
    relevance = retrieval.relevance_of(_hits("hashtag", query, window, prefix, hits))
    rows = selectors.visible_hashtags(viewer=viewer, ids=list(relevance))
    # A tag carrying a blocked term ("#proana" while typing "pro") is not offered either.
    blocked = search_blocked_names([tag.name for tag in rows.values()],
                                   language=_language(viewer, "")) if rows else set()
    scored = sorted((t for t in rows.values() if t.name not in blocked), key=lambda t: (
        -ranking.hashtag_score(t, relevance[t.pk]), -t.pk))
    return [("hashtag", tag) for tag in scored]


_WORD_SPLIT_RE = re.compile(r"[\W_]+")


def _words(text: str) -> list[str]:
    """Letters-and-digits words of normalised text ("sofia_dances" -> sofia, dances)."""
    return [w for w in _WORD_SPLIT_RE.split(text) if w]


def _word_matches(word: str, target: str, *, prefix: bool) -> bool:
    """`word` is `target` within its typo budget (or, typed last, starts it)."""
    if prefix and target.startswith(word):
        return True
    budget = typo_budget(word)
    return edit_distance(word, target, limit=budget) <= budget


def _names_the_query(query: str, names: Sequence[str], *, prefix: bool,
                     leading_words: bool = False) -> bool:
    """Whether one of `names`, written together, is the query written together (within its
    typo budget; as a prefix while typing): the query "looks like" this name. With
    `leading_words` (accounts) the query's words may also be the name's first words, each
    within its budget, as TikTok puts "Sofia Dances" first for "sofia"."""
    joined = "".join(ch for ch in query if ch.isalnum())
    query_words = _words(query)
    for name in names:
        normalized = normalize(name)
        target = "".join(ch for ch in normalized if ch.isalnum())
        if _word_matches(joined, target, prefix=prefix):
            return True
        name_words = _words(normalized)
        if (leading_words and query_words and len(query_words) <= len(name_words)
                and all(_word_matches(word, target_word,
                                      prefix=prefix and i == len(query_words) - 1)
                        for i, (word, target_word)
                        in enumerate(zip(query_words, name_words, strict=False)))):
            return True
    return False


# How well a live matches: its host named by the query (as Top's accounts), every query
# word in the host's names, or every word in the names and the title together.
LIVE_HOST_NAMED, LIVE_IN_NAMES, LIVE_IN_TITLE = 3, 2, 1


def _live_match(query: str, live: LiveStream, *, prefix: bool) -> int:
    """0 (no match) or one of the levels above. Each query word must match a word of the
    host's handle, display name or the title within its typo budget (the last one also as
    a prefix while typing); a word in a script without spaces may also be inside one."""
    host = live.host
    if _names_the_query(query, (host.username, host.display_name), prefix=prefix,
                        leading_words=True):
        return LIVE_HOST_NAMED
    name_words = {w for name in (host.username, host.display_name)
                  for w in (*_words(normalize(name)), "".join(_words(normalize(name))))}
    title_words = set(_words(normalize(live.title)))
    query_words = _words(query)

    def found(word: str, last: bool, targets: set[str]) -> bool:
        return any(_word_matches(word, target, prefix=prefix and last)
                   or (not word.isascii() and len(word) > 1 and word in target)
                   for target in targets if target)

    if not query_words:
        return 0
    last = len(query_words) - 1
    if all(found(w, i == last, name_words) for i, w in enumerate(query_words)):
        return LIVE_IN_NAMES
    if all(found(w, i == last, name_words | title_words) for i, w in enumerate(query_words)):
        return LIVE_IN_TITLE
    return 0


def _ranked_lives(query: str, viewer: Viewer, window: int, prefix: bool,
                  on_air: bool | None = None) -> list[Item]:
    """Lives on air the viewer may watch (`selectors.findable_lives`, live's one rule)
    whose host or title the query names: the best match first, then the Live tab's own
    order (followed hosts, viewers now, newest). Not from the index: on-air lives change
    by the second and are few, so they are matched here on each search."""
    lives = selectors.findable_lives(viewer=viewer, on_air=on_air)
    scored = [(level, position, live) for position, live in enumerate(lives)
              if (level := _live_match(query, live, prefix=prefix))]
    scored.sort(key=lambda row: (-row[0], row[1]))
    return [("live", live) for _, _, live in scored[:window]]


def _ranked_top(query: str, viewer: Viewer, window: int, prefix: bool,
                semantic: _Semantic | None = None) -> list[Item]:
    """Accounts named like the query first (up to three), then lives on air it names (up
    to two), then a hashtag and a sound that match strongly, then videos."""
    # The four kinds' engine lookups in one engine call (`keyword_hits_many`); then each
    # kind's one statement, in turn (the videos' with the on-air probe, one round trip).
    video_hits, account_hits, tag_hits, sound_hits = retrieval.keyword_hits_many(
        [("video", window), ("account", TOP_ACCOUNTS * 5), ("hashtag", 5), ("sound", 5)],
        query, prefix=prefix)
    signals = _signals(viewer)
    semantic = semantic if semantic is not None else _Semantic()
    relevance, semantic.use = retrieval.video_relevance(
        query, limit=window, prefix=prefix, semantic=semantic.use, hits=video_hits,
        wait_below=TOP_SEMANTIC_WAIT_BELOW)
    facts, on_air = selectors.video_facts_and_on_air(viewer=viewer, ids=list(relevance))
    videos = _videos_by_score(facts, relevance, viewer, signals)
    accounts = [item for item in _ranked_accounts(query, viewer, TOP_ACCOUNTS * 5, prefix,
                                                  signals, account_hits)
                if _names_the_query(query, (item[1].username, item[1].display_name),
                                    prefix=prefix, leading_words=True)][:TOP_ACCOUNTS]
    strong: list[Item] = _ranked_lives(query, viewer, TOP_LIVES, prefix, on_air)
    tags = _ranked_hashtags(query, viewer, 5, prefix, tag_hits)
    if tags and _names_the_query(query, (tags[0][1].name,), prefix=prefix):
        strong.append(tags[0])
    sounds = _ranked_sounds(query, viewer, 5, prefix, sound_hits)
    if sounds and _names_the_query(query, (sounds[0][1].title,), prefix=prefix):
        strong.append(sounds[0])
    return accounts + strong + videos


_RANKERS: dict[str, Callable[[str, Viewer, int, bool], list[Item]]] = {
    "top": _ranked_top,
    "accounts": _ranked_accounts,
    "videos": _ranked_videos,
    "sounds": _ranked_sounds,
    "live": _ranked_lives,
    "hashtags": _ranked_hashtags,
}
