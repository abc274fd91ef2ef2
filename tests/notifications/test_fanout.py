"""The new-post fan-out as a resumable batched job (services.fanout): a job stopped after
some batches, by an exception or by SIGKILL of a real process, resumes after its
checkpoint and tells every opted-in follower exactly once, with per-recipient seqs intact
and one delivery task per batch. Committed transactions, real PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

import pytest

from apps.core.models import OutboxTask
from apps.notifications.models import (
    CreatorPostSubscription,
    Delivery,
    FanOut,
    Inbox,
    Notification,
)
from apps.notifications.services.fanout import new_post_fan_out
from apps.social.models import Block
from tests.conftest import ROOT, _subprocess_env
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import run_notification_tasks
from tests.social.factories import FollowFactory

FOLLOWERS = 23
BATCH = 5


class StopError(Exception):
    pass


def _audience() -> tuple[int, list[int], int]:
    """A creator's post, the followers who must be told (ids ascending), one who must not
    (blocked the creator). Some followers already have notifications (seqs continue)."""
    creator = UserFactory()
    told: list[int] = []
    for i in range(FOLLOWERS):
        fan = UserFactory()
        FollowFactory(follower=fan, followee=creator)
        CreatorPostSubscription.objects.create(
            user=fan, creator=creator,
            level="all" if i % 2 else "personalised")
        told.append(fan.pk)
    blocker = told.pop(7)
    Block.objects.create(blocker_id=blocker, blocked_id=creator.pk)
    # subscribed without following (unfollowed since): not told; level off: not told
    stranger, quiet = UserFactory(), UserFactory()
    CreatorPostSubscription.objects.create(user=stranger, creator=creator, level="all")
    FollowFactory(follower=quiet, followee=creator)
    CreatorPostSubscription.objects.create(user=quiet, creator=creator, level="off")
    Inbox.objects.create(user_id=told[0], last_seq=41)
    post = PublishedPostFactory(author=creator)
    return post.pk, sorted(told), blocker


def _assert_told_once(post_id: int, told: list[int], blocker: int) -> None:
    rows = list(Notification.objects.filter(type="new_post", target_id=post_id)
                .values_list("recipient_id", "seq"))
    per_recipient = Counter(r for r, _ in rows)
    assert sorted(per_recipient) == told
    assert set(per_recipient.values()) == {1}
    assert blocker not in per_recipient
    seqs = dict(rows)
    assert seqs[told[0]] == 42  # after the 41 it had
    for user_id, last in Inbox.objects.filter(user_id__in=told).values_list("user_id",
                                                                            "last_seq"):
        assert last == seqs[user_id]
    job = FanOut.objects.get(pk=post_id)
    assert job.finished_at is not None
    assert job.told == len(told)


@pytest.mark.django_db(transaction=True)
def test_a_fan_out_stopped_after_two_batches_resumes_where_it_stopped() -> None:
    post_id, told, blocker = _audience()
    seen: list[int] = []

    def stop_after_two(job: FanOut) -> None:
        seen.append(job.after_user_id)
        if job.batches == 2:
            raise StopError

    with pytest.raises(StopError):
        new_post_fan_out(post_id, batch_size=BATCH, after_batch=stop_after_two)
    job = FanOut.objects.get(pk=post_id)
    assert job.batches == 2
    assert job.finished_at is None
    done = Notification.objects.filter(type="new_post", target_id=post_id).count()
    assert done == job.told
    assert all(r <= job.after_user_id for r in Notification.objects.filter(
        type="new_post", target_id=post_id).values_list("recipient_id", flat=True))

    assert new_post_fan_out(post_id, batch_size=BATCH) == len(told) - done
    _assert_told_once(post_id, told, blocker)
    # again (the hook fired twice): nobody is told twice
    assert new_post_fan_out(post_id, batch_size=BATCH) == 0
    # delivery: one task per batch, each carrying its batch's notifications
    tasks = list(OutboxTask.objects.filter(task="apps.notifications.deliver_batch"))
    batches = FanOut.objects.get(pk=post_id).batches
    assert len(tasks) == batches == -(-(FOLLOWERS - 1) // BATCH)
    assert sum(len(t.args[0]) for t in tasks) == len(told)
    # the batch tasks deliver each notification once (a Delivery row per push decision)
    run_notification_tasks()
    assert Delivery.objects.filter(notification__type="new_post").values(
        "notification_id").distinct().count() == len(told)
    assert not OutboxTask.objects.filter(task="apps.notifications.deliver",
                                         args__0__in=[str(p) for p in Notification.objects
                                                      .filter(type="new_post")
                                                      .values_list("pk", flat=True)]).exists()


KILLABLE = """
import sys, time, django
django.setup()
from apps.notifications.services.fanout import new_post_fan_out
def slow(job):
    print(job.batches, flush=True)
    time.sleep(0.3)
new_post_fan_out(int(sys.argv[1]), batch_size=int(sys.argv[2]), after_batch=slow)
print("finished", flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_fan_out_leaves_a_checkpoint_the_next_run_resumes() -> None:
    post_id, told, blocker = _audience()
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(post_id), str(BATCH)],
                            cwd=ROOT, env=_subprocess_env(), stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.strip() == "2":
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    job = FanOut.objects.get(pk=post_id)
    assert job.finished_at is None
    assert 2 <= job.batches < 5
    assert Notification.objects.filter(type="new_post", target_id=post_id).count() == job.told
    new_post_fan_out(post_id, batch_size=BATCH)
    _assert_told_once(post_id, told, blocker)
