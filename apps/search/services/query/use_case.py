"""The search use case, `search`: the steps in order (package docstring), each tab's
ranker (`kinds`, `top`, `lives`), the page cut and its cursor."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from apps.moderation.detection.selectors import search_blocked_term
from apps.search.engine import get_backend
from apps.search.engine.text import plan_query
from apps.search.services import cursors, history, retrieval
from apps.search.services.query.answer import (
    INDEX_BUILDING_NOTICE,
    SAFETY_NOTICE,
    Item,
    SearchAnswer,
    Viewer,
    language_of,
)
from apps.search.services.query.kinds import (
    Semantic,
    for_display,
    ranked_accounts,
    ranked_hashtags,
    ranked_sounds,
    ranked_videos,
)
from apps.search.services.query.lives import ranked_lives
from apps.search.services.query.params import SearchParams, bad
from apps.search.services.query.top import TOP_ACCOUNTS, TOP_LIVES, ranked_top

logger = logging.getLogger(__name__)

# Candidates per kind taken from retrieval before safety and ranking (five times the largest
# page). The window is the same for every page, so the pages of one search cut one ranking
# and never overlap or skip; up to this many results per kind can be paged through.
CANDIDATE_WINDOW = 150
# As-you-type: the first page only, over-fetched five times.
PREFIX_OVERFETCH = 5


def _index_built() -> bool:
    try:
        return get_backend().is_built()
    except Exception:  # an engine that cannot even say: treat as being rebuilt
        logger.exception("search backend state unknown")
        return False


def search(*, viewer: Viewer, params: SearchParams, language: str = "") -> SearchAnswer:
    """Search for the viewer; every result is one the viewer may see at this moment."""
    plan = plan_query(params.q, prefix=params.prefix)
    answer = SearchAnswer(query=plan.normalized, tab=params.tab,
                          search_id=secrets.token_urlsafe(12))
    max_offset = CANDIDATE_WINDOW + TOP_ACCOUNTS + TOP_LIVES + 2  # the longest (Top's)
    if params.cursor is not None:
        if params.prefix:
            raise bad("cursor", "As-you-type search has one page: search in full mode.",
                      "invalid_cursor")
        position = cursors.decode(params.cursor, query=plan.normalized, tab=params.tab,
                                  max_offset=max_offset)
        offset, answer.search_id = position.offset, position.search_id
        semantic = Semantic(use=position.semantic)  # as the first page did
    else:
        offset, semantic = 0, Semantic()
    # Nothing to search: blank, punctuation or emoji only, or one character typed in full.
    if plan.empty or (not params.prefix and len(plan.normalized.replace(" ", "")) < 2):
        return answer
    if not params.prefix and params.tab in ("top", "videos"):
        retrieval.prefetch_query_vector(plan.normalized)  # overlaps with what follows
    if search_blocked_term(params.q, language=language_of(viewer, language)) is not None:
        answer.notice = SAFETY_NOTICE
        return answer
    if not params.prefix and offset == 0:
        # Enter on a search: the signed-in user's history (a blocked term is not kept).
        history.record_search(viewer, params.q)
    window = (params.limit * PREFIX_OVERFETCH) if params.prefix else CANDIDATE_WINDOW
    if params.tab == "videos":
        ranked = ranked_videos(plan.normalized, viewer, window, params.prefix,
                               semantic=semantic)
    elif params.tab == "top":
        ranked = ranked_top(plan.normalized, viewer, window, params.prefix, semantic)
    else:
        ranked = _RANKERS[params.tab](plan.normalized, viewer, window, params.prefix)
    answer.results = for_display(ranked[offset:offset + params.limit])
    if not _index_built():
        answer.notice = INDEX_BUILDING_NOTICE
    end = offset + params.limit
    if not params.prefix and len(ranked) > end:
        answer.next_cursor = cursors.encode(query=plan.normalized, tab=params.tab, offset=end,
                                            search_id=answer.search_id,
                                            semantic=semantic.use is not False)
    return answer


_RANKERS: dict[str, Callable[[str, Viewer, int, bool], list[Item]]] = {
    "accounts": ranked_accounts,
    "sounds": ranked_sounds,
    "live": ranked_lives,
    "hashtags": ranked_hashtags,
}
