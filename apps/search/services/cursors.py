"""Opaque, signed search cursors: the position in one ranked answer, bound to the query and
tab it came from. A made-up, tampered, expired or foreign cursor is a 400."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core import signing

from apps.core.errors import ApplicationError

_SALT = "search.cursor"
MAX_CURSOR_LENGTH = 512
MAX_AGE_SECONDS = 3600  # a results page left open longer starts over


@dataclass(frozen=True)
class Position:
    offset: int
    search_id: str
    semantic: bool = True  # whether the first page fused semantic candidates (videos)


def _invalid() -> ApplicationError:
    return ApplicationError("Invalid cursor: start the search again.", code="invalid_cursor",
                            fields={"cursor": ["Invalid cursor."]})


def _bound_to(query: str, tab: str) -> str:
    return hashlib.blake2s(f"{tab}\x00{query}".encode(), digest_size=8).hexdigest()


def encode(*, query: str, tab: str, offset: int, search_id: str, semantic: bool = True) -> str:
    return signing.dumps({"b": _bound_to(query, tab), "o": offset, "s": search_id,
                          "m": int(semantic)}, salt=_SALT, compress=False)


def decode(cursor: str, *, query: str, tab: str, max_offset: int) -> Position:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise _invalid()
    try:
        body = signing.loads(cursor, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise _invalid() from None
    if not isinstance(body, dict) or body.get("b") != _bound_to(query, tab):
        raise _invalid()
    offset, search_id, semantic = body.get("o"), body.get("s"), body.get("m", 1)
    if (not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= max_offset
            or not isinstance(search_id, str) or not search_id.isascii()
            or not 0 < len(search_id) <= 32 or semantic not in (0, 1)):
        raise _invalid()
    return Position(offset=offset, search_id=search_id, semantic=bool(semantic))
