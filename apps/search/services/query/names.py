"""Whether a query names a result: Top's accounts, hashtag and sound lead only when the
query is their name (within its typo budget; a prefix while typing), and lives are matched
word by word (`query.lives`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from apps.search.engine.text import edit_distance, normalize, typo_budget

_WORD_SPLIT_RE = re.compile(r"[\W_]+")


def words(text: str) -> list[str]:
    """Letters-and-digits words of normalised text ("sofia_dances" -> sofia, dances)."""
    return [w for w in _WORD_SPLIT_RE.split(text) if w]


def word_matches(word: str, target: str, *, prefix: bool) -> bool:
    """`word` is `target` within its typo budget (or, typed last, starts it)."""
    if prefix and target.startswith(word):
        return True
    budget = typo_budget(word)
    return edit_distance(word, target, limit=budget) <= budget


def names_the_query(query: str, names: Sequence[str], *, prefix: bool,
                    leading_words: bool = False) -> bool:
    """Whether one of `names`, written together, is the query written together (within its
    typo budget; as a prefix while typing): the query "looks like" this name. With
    `leading_words` (accounts) the query's words may also be the name's first words, each
    within its budget, as TikTok puts "Sofia Dances" first for "sofia"."""
    joined = "".join(ch for ch in query if ch.isalnum())
    query_words = words(query)
    for name in names:
        normalized = normalize(name)
        target = "".join(ch for ch in normalized if ch.isalnum())
        if word_matches(joined, target, prefix=prefix):
            return True
        name_words = words(normalized)
        if (leading_words and query_words and len(query_words) <= len(name_words)
                and all(word_matches(word, target_word,
                                     prefix=prefix and i == len(query_words) - 1)
                        for i, (word, target_word)
                        in enumerate(zip(query_words, name_words, strict=False)))):
            return True
    return False
