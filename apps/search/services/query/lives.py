"""Lives on air in search (the Live tab, and up to two on Top): not from the index, since
on-air lives change by the second and are few; matched here on each search against what
live's one rule lets the viewer watch (`selectors.findable_lives`)."""

from __future__ import annotations

from apps.live.models import LiveStream
from apps.search import selectors
from apps.search.engine.text import normalize
from apps.search.services.query.answer import Item, Viewer
from apps.search.services.query.names import names_the_query, word_matches, words

# How well a live matches: its host named by the query (as Top's accounts), every query
# word in the host's names, or every word in the names and the title together.
LIVE_HOST_NAMED, LIVE_IN_NAMES, LIVE_IN_TITLE = 3, 2, 1


def live_match(query: str, live: LiveStream, *, prefix: bool) -> int:
    """0 (no match) or one of the levels above. Each query word must match a word of the
    host's handle, display name or the title within its typo budget (the last one also as
    a prefix while typing); a word in a script without spaces may also be inside one."""
    host = live.host
    if names_the_query(query, (host.username, host.display_name), prefix=prefix,
                       leading_words=True):
        return LIVE_HOST_NAMED
    name_words = {w for name in (host.username, host.display_name)
                  for w in (*words(normalize(name)), "".join(words(normalize(name))))}
    title_words = set(words(normalize(live.title)))
    query_words = words(query)

    def found(word: str, last: bool, targets: set[str]) -> bool:
        return any(word_matches(word, target, prefix=prefix and last)
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


def ranked_lives(query: str, viewer: Viewer, window: int, prefix: bool,
                 on_air: bool | None = None) -> list[Item]:
    """Lives on air the viewer may watch (`selectors.findable_lives`, live's one rule)
    whose host or title the query names: the best match first, then the Live tab's own
    order (followed hosts, viewers now, newest)."""
    lives = selectors.findable_lives(viewer=viewer, on_air=on_air)
    scored = [(level, position, live) for position, live in enumerate(lives)
              if (level := live_match(query, live, prefix=prefix))]
    scored.sort(key=lambda row: (-row[0], row[1]))
    return [("live", live) for _, _, live in scored[:window]]
