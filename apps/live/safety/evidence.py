"""The copy of a live moderation keeps (moderation never reads live's tables or files): the
live as it is, its latest frame (`frames/latest.jpg`, written every few seconds by the
transcoder) and the chat around what was reported."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from apps.accounts.models import User
from apps.live.models import LiveChatMessage, LiveStream
from apps.moderation import services as moderation_services

CHAT_AROUND = 10  # messages copied before and after a reported one
LATEST_CHAT = 20  # a report of the live: the latest messages
FRAME_MAX_BYTES = 2 * 1024 * 1024


def live_dir(live_id: int) -> Path:
    return Path(settings.SWIPEME_LIVE_ROOT) / str(live_id)


def frame_path(live_id: int) -> Path:
    return live_dir(live_id) / "frames" / "latest.jpg"


def read_frame(live_id: int) -> tuple[bytes | None, datetime | None]:
    """The live's latest frame and when it was written (None, None when there is none)."""
    path = frame_path(live_id)
    try:
        stat = path.stat()
        if not 0 < stat.st_size <= FRAME_MAX_BYTES:
            return None, None
        data = path.read_bytes()
    except OSError:
        return None, None
    if not data.startswith(b"\xff\xd8"):  # a JPEG, not a half-written file
        return None, None
    return data, datetime.fromtimestamp(stat.st_mtime, tz=UTC)


def chat_latest(live: LiveStream) -> list[LiveChatMessage]:
    rows = (LiveChatMessage.objects.filter(live_id=live.pk).select_related("author")
            .order_by("-id")[:LATEST_CHAT])
    return sorted(rows, key=lambda m: m.pk)


def chat_around(message: LiveChatMessage) -> list[LiveChatMessage]:
    """The reported message and up to CHAT_AROUND on each side, in order (ids are time
    ordered)."""
    same_live = LiveChatMessage.objects.filter(live_id=message.live_id).select_related("author")
    before = list(same_live.filter(pk__lt=message.pk).order_by("-id")[:CHAT_AROUND])
    after = list(same_live.filter(pk__gt=message.pk).order_by("id")[:CHAT_AROUND])
    return [*reversed(before), message, *after]


def live_copy(live: LiveStream, *, chat: Iterable[LiveChatMessage] = (),
              reported_id: int | None = None, frame: bytes | None = None,
              frame_at: datetime | None = None, read_latest_frame: bool = True
              ) -> moderation_services.LiveCopy:
    host = live.host if isinstance(getattr(live, "host", None), User) else None
    if frame is None and read_latest_frame:
        frame, frame_at = read_frame(live.pk)
    return moderation_services.LiveCopy(
        live_id=live.pk, host_id=live.host_id,
        host_username=host.username if host else "", title=live.title, state=live.state,
        frame=frame, frame_at=frame_at,
        chat=tuple(moderation_services.LiveChatCopy(
            message_id=m.pk, author_id=m.author_id, author_username=m.author.username,
            text=m.text, sent_at=m.created_at, hidden=m.hidden, reported=m.pk == reported_id)
            for m in chat))
