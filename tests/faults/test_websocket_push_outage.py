"""The upload's websocket push (apps.media.services.notify, a best-effort group_send on the
channel layer's Redis) while that Redis is hung: it runs after the commit of every upload
chunk, in the request, so it must cost at most a short bound, and nothing once the breaker
is open. Before, each push waited for channels_redis's own 5 s timeout: every chunk of an
upload took over 5 s while Redis was hung (SIGSTOP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.core import redis_health
from apps.media.services.notify import _notify_now
from tests.content.factories import MediaAssetFactory
from tests.faults.conftest import PrivateRedis

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _breakers_closed_around_each_test() -> Iterator[None]:
    redis_health.reset_all()
    yield
    redis_health.reset_all()


def test_a_hung_channel_layer_costs_an_upload_chunk_a_fraction_of_a_second(
        settings: Any, private_redis: PrivateRedis,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [private_redis.url], "prefix": "faults:asgi"}}}
    asset = MediaAssetFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _notify_now(asset.pk)  # Redis up: the push goes through
    assert redis_health.breaker().state == redis_health.CLOSED

    private_redis.hang()
    took = []
    for _ in range(settings.SWIPEME_REDIS_BREAKER_FAILURES + 2):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            _notify_now(asset.pk)  # never raises: polling still works
        took.append(time.monotonic() - started)
    assert max(took) < 1.0, took
    # the pushes that timed out opened the breaker: the next ones do not even try
    assert redis_health.breaker().state == redis_health.OPEN
    assert max(took[settings.SWIPEME_REDIS_BREAKER_FAILURES:]) < 0.05, took
