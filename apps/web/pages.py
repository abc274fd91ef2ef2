"""What the server-rendered pages share: who is looking, one page of a time-ordered list,
and posts shaped for the templates exactly as the API shapes them (one serializer, so a
grid tile and an API client never disagree on what a post may show)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import default_storage
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from apps.accounts.models import User
from apps.content.api.serializers import PostSerializer
from apps.content.models import Post
from apps.core.ids import MAX_ID

PAGE_SIZE = 24

M = TypeVar("M", bound=Model)


def viewer_of(request: HttpRequest) -> User | None:
    """The signed-in user, or None (the social selectors' spelling of anonymous)."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def content_viewer_of(request: HttpRequest) -> User | AnonymousUser:
    """The content selectors take the request's user as it is."""
    user = request.user
    return user if isinstance(user, User) else AnonymousUser()


def _before_of(request: HttpRequest) -> int | None:
    """`?before=<id>`: the page after a row. Anything that is not an id is the first page
    (a hand-edited link must not become a 500)."""
    raw = request.GET.get("before", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return None


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    next_before: int | None  # the `before` of the next page, None on the last one
    first: bool


def page_of(request: HttpRequest, rows: QuerySet[M], *, size: int = PAGE_SIZE) -> Page[M]:
    """Newest first by id, keyset-paginated with `?before=`; one query (size + 1 rows)."""
    before = _before_of(request)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return Page(rows=found, next_before=int(found[-1].pk) if more and found else None,
                first=before is None)


def post_cards(posts: Sequence[Post]) -> list[dict[str, Any]]:
    """Posts as the post API renders them (playback URLs signed or public as it decides).
    Reads only the rows `content.selectors.for_display` joined."""
    data: Any = PostSerializer(list(posts), many=True).data  # type: ignore[arg-type]
    return list(data)


def avatar_url(user: User, size: str = "100") -> str | None:
    """A rendered square avatar, or the original while the sizes are being made."""
    sizes = user.avatar_sizes if isinstance(user.avatar_sizes, dict) else {}
    name = sizes.get(size) or next(iter(sizes.values()), None)
    if isinstance(name, str) and name:
        return default_storage.url(name)
    return None
