"""`services.notify` of many recipients sends their push/e-mail delivery as one batch task
(it was one outbox task per row: a row and a broker send each, 500 of them seconds after a
500-recipient call), and that task does not announce them live again: notify did, after
its commit."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from channels.layers import get_channel_layer

from apps.core.models import OutboxTask
from apps.notifications import live, services
from apps.notifications.models import Delivery
from apps.notifications.services import Candidate
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import run_notification_tasks

pytestmark = pytest.mark.django_db

T = TypeVar("T")


def _in_own_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_notify_of_many_is_one_delivery_task_which_does_not_announce_again() -> None:
    creator = UserFactory()
    recipients = UserFactory.create_batch(3)
    post = PublishedPostFactory(author=creator)
    rows = services.notify([
        Candidate(r.pk, "new_post", f"nb:{r.pk}:{post.pk}", actor_id=creator.pk,
                  target_type="post", target_id=post.pk) for r in recipients])
    assert len(rows) == 3
    tasks = OutboxTask.objects.filter(task__startswith="apps.notifications.deliver")
    assert [(t.task, t.args, t.kwargs) for t in tasks] == [(
        "apps.notifications.deliver_batch", [[[str(r.pk), r.seq] for r in rows]],
        {"announce": False})]

    layer = get_channel_layer()

    async def listen() -> str:
        channel = await layer.new_channel()
        for r in recipients:
            await layer.group_add(live.user_group(r.pk), channel)
        return str(channel)

    async def heard(channel: str) -> list[Any]:
        try:
            got = [await asyncio.wait_for(layer.receive(channel), 0.5)]
        except TimeoutError:
            got = []
        for r in recipients:
            await layer.group_discard(live.user_group(r.pk), channel)
        return got

    channel = _in_own_thread(listen())
    assert run_notification_tasks() == 1
    # each row's push decision was made once, and nothing was announced a second time
    assert sorted(Delivery.objects.filter(notification__in=rows)
                  .values_list("notification_id", flat=True)) == sorted(r.pk for r in rows)
    assert _in_own_thread(heard(channel)) == []
    # one recipient: its own task, as before
    other = PublishedPostFactory(author=creator)
    single = services.notify([Candidate(recipients[0].pk, "new_post", f"nb1:{other.pk}",
                                        actor_id=creator.pk, target_type="post",
                                        target_id=other.pk)])
    assert OutboxTask.objects.filter(task="apps.notifications.deliver",
                                     args=[str(single[0].pk), single[0].seq]).exists()
