"""Opaque feed cursors: base64url of a small JSON object. A cursor the client made up is a
400 in the error shape."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import ApplicationError
from apps.core.ids import MAX_ID
from apps.core.parsers import loads_json

MAX_CURSOR_LENGTH = 2048
# For You: how many served ids ride along (dedupe without Redis) and recent authors
# (the creator window across pages).
CARRY_IDS = 96
CARRY_AUTHORS = 4


def _invalid() -> ApplicationError:
    return ApplicationError("Invalid cursor.", code="invalid_cursor",
                            fields={"cursor": ["Invalid cursor."]})


def _b36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
        if value == 0:
            return out


def _id(raw: Any) -> int:
    if not isinstance(raw, str) or not raw.isascii() or not raw.isalnum() or len(raw) > 13:
        raise _invalid()
    value = int(raw, 36)
    if not 0 < value <= MAX_ID:
        raise _invalid()
    return value


def _encode(body: dict[str, Any]) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> dict[str, Any]:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = loads_json(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid() from None
    if not isinstance(body, dict) or body.get("k") != kind:
        raise _invalid()
    return body


@dataclass
class ForYouCursor:
    page: int = 0
    served: list[int] = field(default_factory=list)
    authors: list[int] = field(default_factory=list)
    session: str = ""
    # The ad load across pages (feed.hooks.ad_slots): organic posts since the last ad and
    # the gap wanted before the next (0: not drawn yet).
    ad_since: int = 0
    ad_gap: int = 0

    def encode(self) -> str:
        body: dict[str, Any] = {"k": "fy", "p": self.page, "x": [_b36(i) for i in self.served],
                                "a": [_b36(i) for i in self.authors], "s": self.session}
        if self.ad_since or self.ad_gap:
            body["d"] = [self.ad_since, self.ad_gap]
        return _encode(body)

    @classmethod
    def decode(cls, cursor: str) -> ForYouCursor:
        body = _decode(cursor, "fy")
        page, served, authors = body.get("p"), body.get("x"), body.get("a")
        session = body.get("s", "")
        if not isinstance(page, int) or isinstance(page, bool) or not 0 < page < 100_000:
            raise _invalid()
        if not isinstance(served, list) or len(served) > CARRY_IDS \
                or not isinstance(authors, list) or len(authors) > CARRY_AUTHORS:
            raise _invalid()
        if not isinstance(session, str) or len(session) > 64:
            raise _invalid()
        ads = body.get("d", [0, 0])
        if not isinstance(ads, list) or len(ads) != 2 or not all(
                type(v) is int and 0 <= v <= 100_000 for v in ads):
            raise _invalid()
        return cls(page=page, served=[_id(v) for v in served],
                   authors=[_id(v) for v in authors], session=session,
                   ad_since=ads[0], ad_gap=ads[1])


@dataclass
class FollowingCursor:
    before: int

    def encode(self) -> str:
        return _encode({"k": "fo", "b": _b36(self.before)})

    @classmethod
    def decode(cls, cursor: str) -> FollowingCursor:
        return cls(before=_id(_decode(cursor, "fo").get("b")))
