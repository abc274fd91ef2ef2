"""Signed-out viewers count once per device among a live's unique viewers, not once per
connection: the live player page gives a signed-out visitor the feed's device-id cookie
(`feed_session`) and the chat socket counts that device (`presence.unique_member`), so a
reconnect or a reload is the same viewer. Real ASGI server, real Redis, real websockets."""

from __future__ import annotations

import asyncio

import pytest
from django.test import Client

from apps.live.chat import presence
from tests.live.live_helpers import host, on_air
from tests.messaging.test_live_ws import connected

pytestmark = pytest.mark.django_db(transaction=True)


def _unique(live_id: int) -> int:
    return presence.counters(live_id)["unique"]


def test_two_connections_of_one_anonymous_device_count_once(live_asgi_server: str) -> None:
    live, _ = on_air(host())
    url = f"{live_asgi_server.replace('http://', 'ws://')}/ws/live/{live.pk}/"
    presence.forget(live.pk)
    # the player page hands the signed-out visitor their device id once
    page = Client().get(f"/live/{live.pk}")
    assert page.status_code == 200
    device = page.cookies[presence.DEVICE_COOKIE]
    assert device["httponly"]
    assert presence.device_id({presence.DEVICE_COOKIE: device.value}) == device.value
    again = Client(headers={"cookie": f"{presence.DEVICE_COOKIE}={device.value}"})
    assert presence.DEVICE_COOKIE not in again.get(f"/live/{live.pk}").cookies  # kept

    same = {"Cookie": f"{presence.DEVICE_COOKIE}={device.value}"}
    other = {"Cookie": f"{presence.DEVICE_COOKIE}=another-device-1234"}

    async def run() -> None:
        async with connected(url, None, cookie=same):  # type: ignore[arg-type]
            pass
        async with connected(url, None, cookie=same):  # type: ignore[arg-type]
            pass  # a reconnect of the same device
        assert await asyncio.to_thread(_unique, live.pk) == 1
        async with connected(url, None, cookie=other):  # type: ignore[arg-type]
            pass
        assert await asyncio.to_thread(_unique, live.pk) == 2
        # no device id (a client that keeps no cookies): each connection, as before
        async with connected(url, None, cookie={}):  # type: ignore[arg-type]
            pass
        async with connected(url, None, cookie={}):  # type: ignore[arg-type]
            pass
        assert await asyncio.to_thread(_unique, live.pk) == 4

    asyncio.run(run())


def test_unique_member_rules() -> None:
    cookie = presence.DEVICE_COOKIE
    assert presence.unique_member(user_id=42, cookies={cookie: "abcdefgh1"},
                                  connection="c1") == "42"
    assert presence.unique_member(user_id=None, cookies={cookie: "abcdefgh1"},
                                  connection="c1") == "d:abcdefgh1"
    # a malformed or missing id is no device: the connection counts
    for cookies in ({cookie: "short"}, {cookie: "bad id with spaces"}, {}):
        assert presence.unique_member(user_id=None, cookies=cookies, connection="c1") == "c1"
