"""Keyset pagination for comments: `top` pages by (rank, id) descending, `new` by id
descending, replies by id ascending. The pinned comment leads the first page of a post's
comments and is left out of later pages. Cursors are opaque (base64 JSON) and strictly
checked: a made-up cursor is a 400, never a 500."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.comments.models import Comment
from apps.core.ids import MAX_ID
from apps.core.parsers import loads_json

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
AFTER_PINNED = "p"


def _bad_cursor() -> ValidationError:
    return ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor")


def page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValidationError({"page_size": ["A positive integer."]})
    return min(int(raw), MAX_PAGE_SIZE)


def encode(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(request: Request, *, kind: str) -> list[Any] | None:
    """`kind` is "top" ([rank, id] or ["p"]), "new" ([id] or ["p"]) or "replies" ([id])."""
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    try:
        value = loads_json(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(value, list):
        raise _bad_cursor()
    if value == [AFTER_PINNED] and kind != "replies":
        return value
    ok_id = len(value) >= 1 and isinstance(value[-1], int) and 0 < value[-1] <= MAX_ID
    if kind == "top":
        ok = (len(value) == 2 and ok_id and isinstance(value[0], int | float)
              and not isinstance(value[0], bool) and math.isfinite(value[0]))
    else:
        ok = len(value) == 1 and ok_id
    if not ok:
        raise _bad_cursor()
    return value


def paginate(qs: QuerySet[Comment], request: Request, *, kind: str) -> tuple[list[Comment],
                                                                              str | None]:
    """One page of `qs` and the `next` URL (None on the last page). One query."""
    size = page_size(request)
    cursor = decode(request, kind=kind)
    if kind == "replies":
        ordered = qs.order_by("id")
        if cursor:
            ordered = ordered.filter(id__gt=cursor[0])
    else:
        keys = ("-rank", "-id") if kind == "top" else ("-id",)
        if cursor is None:
            ordered = qs.order_by("-is_pinned", *keys)
        else:
            ordered = qs.filter(is_pinned=False).order_by(*keys)
            if cursor != [AFTER_PINNED]:
                if kind == "top":
                    rank, last_id = float(cursor[0]), cursor[1]
                    ordered = ordered.filter(Q(rank__lt=rank) | Q(rank=rank, id__lt=last_id))
                else:
                    ordered = ordered.filter(id__lt=cursor[0])
    rows = list(ordered[: size + 1])
    page, more = rows[:size], len(rows) > size
    if not more or not page:
        return page, None
    last = page[-1]
    token: list[Any]
    if last.is_pinned and cursor is None:
        token = [AFTER_PINNED]
    elif kind == "top":
        token = [last.rank, last.pk]
    else:
        token = [last.pk]
    params = request.query_params.copy()
    params["cursor"] = encode(token)
    return page, request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
