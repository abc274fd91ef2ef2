"""Seqs under concurrency: two workers telling the same recipient at once (the `Inbox`
row lock of `services.inbox._next_seqs`, committed transactions, real PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import Notification
from apps.notifications.services import Candidate
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_for_one_recipient_get_distinct_increasing_seqs() -> None:
    post = PublishedPostFactory()
    actors = UserFactory.create_batch(2)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def tell(actor_id: int) -> None:
        try:
            start.wait()
            for i in range(10):
                services.notify([Candidate(post.author_id, "comment", f"t:{actor_id}:{i}",
                                           actor_id=actor_id, target_type="post",
                                           target_id=post.pk)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tell, args=(a.pk,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = sorted(Notification.objects.filter(recipient_id=post.author_id)
                  .values_list("seq", flat=True))
    assert seqs == list(range(1, 21))
    # every row's id order within one actor follows its seq order (committed in order)
    for actor in actors:
        rows = list(Notification.objects.filter(recipient_id=post.author_id, actor=actor)
                    .order_by("id").values_list("seq", flat=True))
        assert rows == sorted(rows)
