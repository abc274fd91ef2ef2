"""Live delivery without a query per delivery (issue 14, "5,000 connected websockets"): the
writer's announcement carries the item in the inbox API's shape and the recipient's unread
count, built once per batch with the inbox's rules, and the consumer sends it as it is; a
batch's announcements go concurrently through a channel layer whose connection pool takes
the burst; the inbox page reads a bounded number of queries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.notifications import live, selectors, services
from apps.notifications.models import Notification
from apps.notifications.services import Candidate
from apps.notifications.tasks import deliver_batch
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.test_live import _connect, _cookie, _until_count
from tests.social.factories import BlockFactory, FollowRequestFactory, MuteFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _like(owner: User, liker: User, post_id: int) -> Notification:
    [row] = services.notify([Candidate(owner.pk, "post_liked", f"t:{liker.pk}:{post_id}",
                                       actor_id=liker.pk, target_type="post",
                                       target_id=post_id,
                                       group_key=f"post_liked:post:{post_id}")])
    return row


def _api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_announced_item_is_sent_as_it_is_without_reading_the_row_back() -> None:
    """The consumer forwards the writer's item and count: no row is read (this one does
    not even exist; the old consumer read it back and sent nothing)."""
    owner = UserFactory()
    cookie = _cookie(owner)
    item = {"id": "4242", "seq": 7, "type": "post_liked", "title": "maya liked your video"}

    async def run() -> dict[str, Any]:
        ws = await _connect(cookie)
        await _until_count(ws)
        await get_channel_layer().group_send(live.user_group(owner.pk), {
            "type": "notification.new", "id": "4242", "seq": 7, "item": item,
            "unread_count": 5})
        message: dict[str, Any] = await ws.receive_json_from(timeout=10)
        # an older state of the same notification, announced late: dropped
        await get_channel_layer().group_send(live.user_group(owner.pk), {
            "type": "notification.new", "id": "4242", "seq": 6,
            "item": {**item, "seq": 6}, "unread_count": 4})
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()
        return message

    assert asyncio.run(run()) == {"type": "notification", "seq": 7, "notification": item,
                                  "unread_count": 5}


def test_the_live_item_and_count_are_what_the_inbox_api_shows() -> None:
    """A grown group whose earlier liker was muted since: the live item names and shows
    only who the inbox names and shows, and the count leaves out a muted person's older
    notification, as GET /api/v1/notifications and unread_count do."""
    owner, early, later, newest, noisy = (UserFactory() for _ in range(5))
    post = PublishedPostFactory(author=owner)
    _like(owner, early, post.pk)
    _like(owner, later, post.pk)
    _like(owner, noisy, PublishedPostFactory(author=owner).pk)
    MuteFactory(muter=owner, muted=early)
    BlockFactory(blocker=noisy, blocked=owner)
    cookie = _cookie(owner)

    async def run() -> dict[str, Any]:
        ws = await _connect(cookie)
        await _until_count(ws)
        await sync_to_async(_like)(owner, newest, post.pk)
        message: dict[str, Any] = await ws.receive_json_from(timeout=10)
        await ws.disconnect()
        return message

    message = asyncio.run(run())
    api = _api(owner)
    [shown] = api.get("/api/v1/notifications").json()["results"]
    assert message["notification"] == shown
    assert [a["username"] for a in shown["actors"]] == [newest.username, later.username]
    assert message["unread_count"] == api.get(
        "/api/v1/notifications/unread_count").json()["unread"] == 1


def test_a_batch_is_announced_to_every_connected_recipient_with_its_own_count() -> None:
    """One notify call for many recipients: each connection gets its own item and count;
    the batch's counts are one query (selectors.unread_counts_of) with the same rules."""
    creator = UserFactory()
    fans = UserFactory.create_batch(12)
    post = PublishedPostFactory(author=creator)
    _like(fans[0], creator, PublishedPostFactory(author=fans[0]).pk)  # fans[0]: 1 unread
    cookies = [_cookie(fan) for fan in fans]

    async def run() -> list[dict[str, Any]]:
        sockets = [await _connect(c) for c in cookies]
        for ws in sockets:
            await _until_count(ws)
        await sync_to_async(services.notify)([
            Candidate(fan.pk, "new_post", f"np:{post.pk}:{fan.pk}", actor_id=creator.pk,
                      target_type="post", target_id=post.pk) for fan in fans])
        got = [await ws.receive_json_from(timeout=10) for ws in sockets]
        for ws in sockets:
            await ws.disconnect()
        return got

    got = asyncio.run(run())
    assert [m["notification"]["type"] for m in got] == ["new_post"] * len(fans)
    assert [m["unread_count"] for m in got] == [2] + [1] * (len(fans) - 1)
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.unread_counts_of(fan.pk for fan in fans)
    assert len(queries) == 1
    assert counts == {fan.pk: selectors.unread_count_of(fan.pk) for fan in fans}


def test_a_fan_out_batchs_delivery_task_announces_the_items() -> None:
    owner, liker = UserFactory(), UserFactory()
    row = _like(owner, liker, PublishedPostFactory(author=owner).pk)
    cookie = _cookie(owner)

    async def run() -> dict[str, Any]:
        ws = await _connect(cookie, f"?after={row.seq + 1}")
        await _until_count(ws)
        await sync_to_async(deliver_batch)([[str(row.pk), row.seq + 1]])
        message: dict[str, Any] = await ws.receive_json_from(timeout=10)
        await ws.disconnect()
        return message

    # the state was announced once already (seq row.seq): a newer seq shows it again
    Notification.objects.filter(pk=row.pk).update(seq=row.seq + 1)
    message = asyncio.run(run())
    assert message["seq"] == row.seq + 1
    assert message["notification"]["title"] == f"{liker.username} liked your video"


def test_the_channel_layer_takes_a_burst_of_concurrent_sends() -> None:
    """Many group_sends in flight at once (a batch's announcements, consumers that echo),
    more than the pool's connections: they wait for one (redis-py's own pool raised
    MaxConnectionsError past its default 100, apps.core.channel_layer)."""
    count = 3 * settings.CHANNEL_LAYER_MAX_CONNECTIONS

    async def burst() -> set[str]:
        layer = get_channel_layer()
        channels = [await layer.new_channel() for _ in range(count)]
        groups = [live.user_group(10**15 + 500 + i) for i in range(count)]
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_add(group, channel)
        try:
            await asyncio.gather(*(layer.group_send(group, {
                "type": "notification.new", "id": str(i), "seq": 1})
                for i, group in enumerate(groups)))
            return {(await asyncio.wait_for(layer.receive(c), 5))["id"] for c in channels}
        finally:
            for group, channel in zip(groups, channels, strict=True):
                await layer.group_discard(group, channel)

    assert asyncio.run(burst()) == {str(i) for i in range(count)}


def test_an_inbox_page_is_three_queries_whatever_its_rows() -> None:
    """The people silenced for the reader (read once, for the filter and the lines), the
    page and its actors (plus one when a follow request is on it: still pending?):
    follows, likes and a follow request on a page of any size."""
    owner = UserFactory()
    for _ in range(3):
        fan = UserFactory()
        services.notify([Candidate(owner.pk, "follow", f"f:{fan.pk}", actor_id=fan.pk,
                                   target_type="user", target_id=owner.pk)])
        _like(owner, fan, PublishedPostFactory(author=owner).pk)
    client = _api(owner)
    counts = []
    for size in (1, 6):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(f"/api/v1/notifications?page_size={size}")
                       .json()["results"]) == size
        counts.append(len(queries))
    asker = UserFactory()
    request = FollowRequestFactory(requester=asker, target=owner)
    services.notify([Candidate(owner.pk, "follow_request", f"fr:{request.pk}",
                               actor_id=asker.pk, target_type="follow_request",
                               target_id=request.pk)])
    with CaptureQueriesContext(connection) as queries:
        [first] = client.get("/api/v1/notifications?page_size=1").json()["results"]
    assert (first["type"], first["request_pending"]) == ("follow_request", True)
    assert [*counts, len(queries)] == [3, 3, 4]
