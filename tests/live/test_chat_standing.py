"""A socket's kept chat standing (`apps/live/chat/standing.py`): what a post reads (the live
through `live_for`, the limits, the poster's role and mute, the host's moderators) is kept
between one connection's messages, and every change that matters reaches the very next
message through the version keys in the real Redis: a mute, an unmute, a ban, a block
either way, the host's chat settings, a moderator named, a staff edit of the limits, the
end. While Redis is away nothing is kept. (The socket path end to end, mute and ban
included, is tests/live/test_chat_ws.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import redis_health
from apps.core.errors import ApplicationError, NotFoundError
from apps.live.chat import filters, services, standing
from apps.live.chat.selectors import MODERATOR
from apps.live.models import LivePolicy
from apps.live.services import live_end
from apps.social.services import block_create, block_delete
from tests.factories import UserFactory
from tests.live.live_helpers import host, on_air

pytestmark = pytest.mark.django_db

Commit = Callable[..., Any]


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Commit) -> Commit:
    """Runs a callable and then its on-commit work (the bumps), as a real commit would."""

    def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


@pytest.fixture
def scene() -> tuple[Any, Any, Any, standing.StandingCache]:
    creator = host()
    live, _ = on_air(creator)
    viewer = UserFactory()
    return (
        creator,
        live,
        viewer,
        standing.StandingCache(live_id=live.pk, host_id=live.host_id, user_id=viewer.pk),
    )


def _post(viewer: Any, live: Any, kept: standing.StandingCache, text: str) -> dict[str, Any]:
    _, payload, _ = services.chat_post(viewer, live.pk, text, kept=kept)
    return payload


def test_kept_between_messages_with_fewer_queries(scene: Any) -> None:
    _, live, viewer, kept = scene
    with CaptureQueriesContext(connection) as first:
        _post(viewer, live, kept, "first")
    with CaptureQueriesContext(connection) as second:
        _post(viewer, live, kept, "second")
    assert kept.loads == 1
    # the live (visibility), the limits, role, mute and moderators are not read again
    tables = " ".join(q["sql"] for q in second.captured_queries)
    for table in ("live_livepolicy", "live_livemute", "live_livemoderator", "social_block"):
        assert table not in tables
    assert len(second.captured_queries) <= len(first.captured_queries) - 5


def test_mute_unmute_ban_take_effect_on_the_next_message(scene: Any, commit: Commit) -> None:
    creator, live, viewer, kept = scene
    _post(viewer, live, kept, "hello")
    commit(services.chat_mute, creator, live.pk, viewer.pk, 5)
    with pytest.raises(services.ChatRefused) as refused:
        _post(viewer, live, kept, "why?")
    assert refused.value.code == "muted"
    assert "muted in this chat" in refused.value.message
    commit(services.chat_unmute, creator, live.pk, viewer.pk)
    assert _post(viewer, live, kept, "back")["text"] == "back"
    commit(services.chat_ban, creator, live.pk, viewer.pk)
    with pytest.raises(NotFoundError):  # a ban hides the live: the same 404 as unknown
        _post(viewer, live, kept, "still here?")
    commit(services.chat_unban, creator, live.pk, viewer.pk)
    assert _post(viewer, live, kept, "unbanned")["text"] == "unbanned"


@pytest.mark.parametrize("by_host", [True, False])
def test_a_block_either_way_takes_effect_on_the_next_message(
    scene: Any, commit: Commit, by_host: bool
) -> None:
    creator, live, viewer, kept = scene
    _post(viewer, live, kept, "hello")
    blocker, blocked = (creator, viewer) if by_host else (viewer, creator)
    commit(block_create, blocker=blocker, blocked=blocked)
    with pytest.raises(NotFoundError):
        _post(viewer, live, kept, "blocked?")
    commit(block_delete, blocker=blocker, blocked=blocked)
    assert _post(viewer, live, kept, "again")["text"] == "again"


def test_settings_moderators_policy_and_the_end(scene: Any, commit: Commit) -> None:
    creator, live, viewer, kept = scene
    _post(viewer, live, kept, "hello")
    commit(services.chat_settings_update, creator, live.pk, followers_only=True)
    with pytest.raises(services.ChatRefused) as refused:
        _post(viewer, live, kept, "may I?")
    assert refused.value.code == "followers_only"
    commit(services.moderator_add, creator, viewer.username)  # moderators skip it
    assert _post(viewer, live, kept, "as a moderator")["author"]["role"] == MODERATOR

    policy = LivePolicy.current()
    policy.chat_max_chars = 10
    commit(policy.save)
    with pytest.raises(ApplicationError) as too_long:
        _post(viewer, live, kept, "more than ten characters")
    assert "at most 10 characters" in too_long.value.message

    commit(live_end, live, reason="host")
    with pytest.raises(NotFoundError):  # an ended live is the host's alone
        _post(viewer, live, kept, "bye")


def test_nothing_is_kept_while_redis_is_away(scene: Any) -> None:
    _, live, viewer, kept = scene
    breaker = redis_health.breaker()
    try:
        for _ in range(breaker.failure_threshold):
            breaker.failure(ConnectionError("test: Redis away"))
        _post(viewer, live, kept, "one")
        _post(viewer, live, kept, "two")
        assert kept.loads == 2
    finally:
        breaker.reset()
    _post(viewer, live, kept, "three")
    _post(viewer, live, kept, "four")
    assert kept.loads == 3


def test_the_classifier_scores_posts_waiting_together() -> None:
    """`filters.Coalesced`: posts checked while one classifier call runs share the next."""
    calls: list[list[str]] = []
    gate = threading.Event()

    def batch(texts: Sequence[str]) -> list[float]:
        calls.append(list(texts))
        if len(calls) == 1:
            assert gate.wait(10)
        if "boom" in texts:
            raise ValueError("classifier failed")
        return [float(len(t)) for t in texts]

    shared = filters.Coalesced(batch)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(shared, "a")
        while not calls:  # the first call is running (held by the gate)
            time.sleep(0.005)
        rest = [pool.submit(shared, t) for t in ("bb", "ccc", "dddd")]
        while len(shared._waiting) < 3:
            time.sleep(0.005)
        gate.set()
        assert [f.result(timeout=10) for f in (first, *rest)] == [1.0, 2.0, 3.0, 4.0]
    assert calls == [["a"], ["bb", "ccc", "dddd"]]
    with pytest.raises(ValueError, match="classifier failed"):
        shared("boom")
    assert shared("ok") == 2.0  # a failure leaves it usable
