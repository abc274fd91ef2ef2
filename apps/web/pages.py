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
from apps.core.ids import parse_id

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
    return parse_id(request.GET.get("before", ""))


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


def cover_style(post: Post, storyboard_url: str | None) -> str | None:
    """The creator's chosen cover frame (`cover_time_ms`) as a CSS background cut from the
    storyboard sprite; None without a choice or a storyboard (the poster shows instead).
    Media makes one poster per upload, not one per chosen frame."""
    meta = (post.asset.outputs or {}).get("storyboard") if post.cover_time_ms is not None \
        else None
    if not storyboard_url or not isinstance(meta, dict):
        return None
    try:
        count, columns, rows = int(meta["count"]), int(meta["columns"]), int(meta["rows"])
        interval = float(meta["interval"])
    except (KeyError, TypeError, ValueError):
        return None
    if count < 1 or columns < 1 or rows < 1 or interval <= 0:
        return None
    if int(meta.get("height") or 0) <= int(meta.get("width") or 0):
        return None  # a landscape frame would be stretched into the 9:16 tile
    index = min(count - 1, round((post.cover_time_ms or 0) / 1000 / interval))
    column, row = index % columns, index // columns
    x = 100 * column / (columns - 1) if columns > 1 else 0
    y = 100 * row / (rows - 1) if rows > 1 else 0
    return (f'background-image: url("{storyboard_url}"); '
            f"background-size: {columns * 100}% {rows * 100}%; "
            f"background-position: {x:.4g}% {y:.4g}%")


def post_cards(posts: Sequence[Post]) -> list[dict[str, Any]]:
    """Posts as the post API renders them (playback URLs signed or public as it decides),
    plus the chosen cover frame. Reads only the rows `content.selectors.for_display`
    joined."""
    rows = list(posts)
    data: Any = PostSerializer(rows, many=True).data  # type: ignore[arg-type]
    cards = [dict(card) for card in data]
    for post, card in zip(rows, cards, strict=True):
        playback = (card.get("media") or {}).get("playback") or {}
        board = playback.get("storyboard") or {}
        card["cover_style"] = cover_style(post, board.get("image"))
    return cards


def avatar_url(user: User, size: str = "100") -> str | None:
    """A rendered square avatar, or the original while the sizes are being made."""
    sizes = user.avatar_sizes if isinstance(user.avatar_sizes, dict) else {}
    name = sizes.get(size) or next(iter(sizes.values()), None)
    if isinstance(name, str) and name:
        return default_storage.url(name)
    return None
