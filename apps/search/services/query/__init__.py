"""The search use case: `GET /api/v1/search` (contract: docs/architecture.md, "Search").

1. Parse and validate the input (`params.search_params`): bad input is a 400 in the error
   shape, a query with nothing to search (blank, punctuation, emoji, one character in full
   mode) an empty answer.
2. Blocked search terms (staff term lists, `moderation.detection`): no results, a safety
   notice with help resources (`answer.SAFETY_NOTICE`).
3. Retrieve candidates per kind (`services.retrieval`: keyword engine, plus semantic
   neighbours for videos, fused), over-fetched so that what safety drops still leaves full
   pages.
4. Query-time safety (`apps.search.selectors`: one query per kind), then rank for the viewer
   (`services.ranking`; one ranker per kind in `kinds`, Top's mix in `top`, lives in
   `lives`), then cut the page (`use_case.search`); the cursor is the signed position in
   that ranking.

The modules: `params` (input), `answer` (the answer and its notices), `kinds`, `names`,
`lives`, `top` (the rankers), `use_case` (the steps above in order). The names callers use
are importable from here.
"""

from apps.search.services.query.answer import (
    INDEX_BUILDING_NOTICE,
    SAFETY_NOTICE,
    Item,
    Notice,
    SearchAnswer,
    Viewer,
)
from apps.search.services.query.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    MODES,
    TABS,
    SearchParams,
    Tab,
    search_params,
)
from apps.search.services.query.top import TOP_ACCOUNTS, TOP_LIVES, TOP_SEMANTIC_WAIT_BELOW
from apps.search.services.query.use_case import CANDIDATE_WINDOW, PREFIX_OVERFETCH, search

__all__ = [
    "CANDIDATE_WINDOW",
    "DEFAULT_LIMIT",
    "INDEX_BUILDING_NOTICE",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "MODES",
    "PREFIX_OVERFETCH",
    "SAFETY_NOTICE",
    "TABS",
    "TOP_ACCOUNTS",
    "TOP_LIVES",
    "TOP_SEMANTIC_WAIT_BELOW",
    "Item",
    "Notice",
    "SearchAnswer",
    "SearchParams",
    "Tab",
    "Viewer",
    "search",
    "search_params",
]
