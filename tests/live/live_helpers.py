"""Shared by the live tests: creators who may go live, and lives put on air through the
services the ingest calls (no media: the ingest's own tests publish for real)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.live.models import LiveStream
from apps.live.services import key_create, live_create, publish_started
from tests.factories import UserFactory
from tests.messaging.test_live_ws import WAIT, Socket, connected


def host(**kwargs: Any) -> User:
    """An adult, 60 days old, with the followers the default policy asks for."""
    kwargs.setdefault("date_of_birth", date(1990, 1, 1))
    kwargs.setdefault("date_joined", timezone.now() - timedelta(days=60))
    kwargs.setdefault("followers_count", 50)
    return UserFactory(**kwargs)


def set_up(creator: User, *, audience: str = LiveStream.Audience.EVERYONE,
           title: str = "Studio session") -> tuple[LiveStream, str]:
    """A live waiting for its encoder, and the creator's plain stream key."""
    _, plain = key_create(creator)
    return live_create(creator, title=title, audience=audience), plain


def on_air(creator: User, **kwargs: Any) -> tuple[LiveStream, str]:
    live, plain = set_up(creator, **kwargs)
    live = publish_started(key=plain, publisher="rtmp:1", protocol="rtmp")
    return live, plain


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def live_row(creator: User, *, state: str = LiveStream.State.LIVE,
             audience: str = LiveStream.Audience.EVERYONE, **kwargs: Any) -> LiveStream:
    """A live in a given state, written directly (the selectors' tests: no row locks)."""
    started = timezone.now() if state != LiveStream.State.CREATED else None
    return LiveStream.objects.create(host=creator, title=kwargs.pop("title", "A live"),
                                     state=state, audience=audience, started_at=started,
                                     **kwargs)


class ChatSocket(Socket):
    """A live chat client: a `batch` frame (the room's coalesced window) is read as the
    frames it carries, in order, so a test sees what the web client's room hands on."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.waiting: deque[dict[str, Any]] = deque()
        self.batches = 0  # batch frames received (several frames in one write)

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        if not self.waiting:
            frame = await super().recv(timeout)
            if frame["type"] == "batch":
                self.batches += 1
                self.waiting.extend(frame["frames"])
            else:
                self.waiting.append(frame)
        return self.waiting.popleft()


@asynccontextmanager
async def chat_connected(url: str, user: User | None, *,
                         cookie: dict[str, str] | None = None) -> AsyncIterator[ChatSocket]:
    """`ws/live/<id>/` for `user` (None: signed out), past its `ready` frame."""
    async with connected(url, user, cookie=cookie) as socket:  # type: ignore[arg-type]
        yield ChatSocket(socket.ws)
