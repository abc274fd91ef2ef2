"""Search's use cases (one module each); this package re-exports the names callers use.

- `query`: the search itself (`search_params`, `search`), with `retrieval` (keyword engine,
  semantic neighbours, fusion), `ranking` (the weights) and `cursors` (signed positions).
- `history`: a signed-in user's recent searches (`record_search`, delete one, clear).
- `trending`: the `search` consumer group of the event log and the trending lists.
"""

from apps.search.services.history import (
    history_clear,
    history_delete,
    query_key,
    record_search,
)
from apps.search.services.query import (
    SAFETY_NOTICE,
    TABS,
    Notice,
    SearchAnswer,
    SearchParams,
    search,
    search_params,
)

__all__ = [
    "SAFETY_NOTICE",
    "TABS",
    "Notice",
    "SearchAnswer",
    "SearchParams",
    "history_clear",
    "history_delete",
    "query_key",
    "record_search",
    "search",
    "search_params",
]
