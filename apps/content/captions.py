"""Parsing a caption into hashtags and @mentions (pure functions, no database).

Offsets are in Unicode code points of the caption (`start` inclusive, `end` exclusive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.content.models import HASHTAG_MAX_LENGTH

MAX_HASHTAGS = 30
MAX_MENTIONS = 20

# A tag is letters, digits and underscores, not only digits, not glued to a word before it.
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")
# Usernames are Unicode word characters and dots (apps.accounts.usernames), 2 to 24 long.
_MENTION = re.compile(r"(?<![\w@.])@([\w.]+)")
_USERNAME_MAX = 24


@dataclass(frozen=True)
class Token:
    kind: str  # "hashtag" | "mention"
    start: int
    end: int
    value: str  # the tag's name as written, or the username as written


def parse_caption(caption: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _HASHTAG.finditer(caption):
        name = match.group(1)
        if len(name) > HASHTAG_MAX_LENGTH or name.isdigit():
            continue
        tokens.append(Token("hashtag", match.start(), match.end(), name))
    for match in _MENTION.finditer(caption):
        name = match.group(1).rstrip(".")
        if not 2 <= len(name) <= _USERNAME_MAX:
            continue
        tokens.append(Token("mention", match.start(), match.start() + 1 + len(name), name))
    return sorted(tokens, key=lambda token: token.start)


def hashtag_names(tokens: list[Token]) -> list[str]:
    """Distinct tags in order of first appearance, first spelling kept."""
    seen: dict[str, str] = {}
    for token in tokens:
        if token.kind == "hashtag":
            seen.setdefault(token.value.lower(), token.value)
    return list(seen.values())


def entity_hashtags(entities: object) -> list[str]:
    """The hashtags of a post's stored `caption_entities`, in caption order, each once."""
    seen: dict[str, None] = {}
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict) and entity.get("type") == "hashtag" and entity.get("name"):
            seen.setdefault(str(entity["name"]), None)
    return list(seen)


def mention_names(tokens: list[Token]) -> list[str]:
    seen: dict[str, str] = {}
    for token in tokens:
        if token.kind == "mention":
            seen.setdefault(token.value.lower(), token.value)
    return list(seen.values())
