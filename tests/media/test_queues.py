"""User uploads never wait behind bulk work: an asset's tasks go to its priority's queue
(a real worker serving only the user queue processes an upload while the bulk queue holds
a backlog), the stalled-job sweep sends one task per truly stalled asset and none again
within the lease (it once queued 81 tasks for one asset), and the owner is told the
upload's place in line with an estimate measured from recent uploads."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.media import routing, services, storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.factories import UserFactory
from tests.media.conftest import upload_file, wait_for

USER, BULK = MediaAsset.Priority.USER, MediaAsset.Priority.BULK


def _broker_messages(queue: str) -> list[tuple[str, list[Any]]]:
    """(task name, args) of every message waiting in `queue`, oldest first (the Redis
    broker pushes on the left and pops on the right)."""
    from celery import current_app

    with current_app.connection_for_read() as connection:
        client = connection.default_channel.client
        raw = client.lrange(queue, 0, -1)
    found = []
    for item in reversed(raw):
        message = json.loads(item)
        body = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], body[0]))
    return found


@pytest.fixture
def own_queues() -> Iterator[tuple[str, str]]:
    """Queues of this test alone (no worker of the session serves them)."""
    user, bulk = f"t-user-{uuid.uuid4().hex[:8]}", f"t-bulk-{uuid.uuid4().hex[:8]}"
    with override_settings(MEDIA_QUEUE_USER=user, MEDIA_QUEUE_BULK=bulk):
        yield user, bulk
    from celery import current_app

    with current_app.connection_for_write() as connection:
        for queue in (user, bulk):
            connection.default_channel.client.delete(queue)


def _stalled(priority: str, kind: str) -> MediaAsset:
    """A planned asset whose processing stopped: `dead` (a running step's worker stopped
    heart-beating) or `lost` (steps pending for long, their task gone)."""
    long_ago = timezone.now() - timedelta(hours=1)
    asset = MediaAsset.objects.create(owner=UserFactory(), state="processing",
                                      priority=priority, queued_at=long_ago)
    names = ["rendition-240", "poster", "ladder", "mp4", "preview", "storyboard", "audio",
             "frames"]
    for i, name in enumerate(names):
        running = kind == "dead" and i == 0
        ProcessingStep.objects.create(
            asset=asset, name=name, state="running" if running else "pending",
            heartbeat_at=long_ago if running else None, claimed_by="gone" if running else "")
    ProcessingStep.objects.filter(asset=asset).update(updated_at=long_ago)
    MediaAsset.objects.filter(pk=asset.pk).update(updated_at=long_ago)
    return asset


@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_one_task_per_stalled_asset_and_none_again(own_queues):
    user_queue, bulk_queue = own_queues
    dead = [_stalled(USER, "dead") for _ in range(3)]
    lost = [_stalled(USER, "lost") for _ in range(3)]
    # bulk work merely waiting behind a backlog in its queue is not stalled
    backlog = [_stalled(BULK, "lost") for _ in range(2)]
    from apps.media.tasks import requeue_stalled

    for _ in range(5):
        requeue_stalled.apply_async(queue=bulk_queue)  # stands for the bulk backlog

    result = services.assets_requeue_stalled()

    sent = _broker_messages(user_queue)
    assert Counter(name for name, _ in sent) == {"apps.media.process_asset": 6}, sent
    assert sorted(args[0] for _, args in sent) == sorted(a.pk for a in dead + lost)
    assert result["assets"] == 6
    assert len(_broker_messages(bulk_queue)) == 5  # nothing added behind the backlog
    assert all(MediaAsset.objects.get(pk=a.pk).requeued_at is None for a in backlog)

    # a second sweep (a minute later, the tasks not yet run): nothing more
    assert services.assets_requeue_stalled()["assets"] == 0
    assert len(_broker_messages(user_queue)) == 6

    # the re-queued task resumes each asset with one task per step still to do
    asset = dead[0]
    assert services.asset_process(asset_id=asset.pk, task_id="t") == "requeued"
    steps = [args for name, args in _broker_messages(user_queue)[6:]]
    assert [s[1] for s in steps] == list(
        asset.steps.order_by("id").values_list("name", flat=True))
    for a in dead + lost + backlog:
        storage.remove_asset_files(a.pk)


@pytest.mark.django_db(transaction=True)
def test_asset_tasks_go_to_their_prioritys_queue(own_queues):
    from apps.media.tasks import process_asset, run_step

    user_queue, bulk_queue = own_queues
    mine = MediaAsset.objects.create(owner=UserFactory(), priority=USER)
    catalogue = MediaAsset.objects.create(owner=mine.owner, priority=BULK)
    process_asset.delay(mine.pk)
    process_asset.delay(catalogue.pk)
    run_step.delay(catalogue.pk, "poster")
    assert _broker_messages(user_queue) == [("apps.media.process_asset", [mine.pk])]
    assert _broker_messages(bulk_queue) == [("apps.media.process_asset", [catalogue.pk]),
                                            ("apps.media.run_step", [catalogue.pk, "poster"])]
    # staff reprocessing is bulk work
    MediaAsset.objects.filter(pk=mine.pk).update(state="failed")
    storage.source_path(mine.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(mine.pk).write_bytes(b"source")
    assert services.asset_reprocess(asset_id=mine.pk)
    assert _broker_messages(bulk_queue)[-1] == ("apps.media.process_asset", [mine.pk])
    storage.remove_asset_files(mine.pk)


def _finished(priority: str, *, seconds: float) -> MediaAsset:
    """An upload processed a moment ago, whose steps took `seconds` of worker time."""
    now = timezone.now()
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready", priority=priority,
                                      ready_at=now, queued_at=now - timedelta(minutes=5))
    for name, share in (("validate", 0.1), ("rendition-240", 0.5), ("poster", 0.4)):
        ProcessingStep.objects.create(
            asset=asset, name=name, state="done", started_at=now - timedelta(minutes=2),
            finished_at=now - timedelta(minutes=2) + timedelta(seconds=seconds * share))
    return asset


@pytest.mark.django_db
def test_the_owner_sees_the_uploads_place_in_line_and_an_estimate():
    client = APIClient()
    me = UserFactory()
    client.force_authenticate(me)
    start = timezone.now() - timedelta(minutes=1)

    def in_line(state: str, n: int, priority: str = USER, progress: int = 0) -> MediaAsset:
        return MediaAsset.objects.create(owner=UserFactory(), state=state, priority=priority,
                                         progress=progress,
                                         queued_at=start + timedelta(seconds=n))

    in_line("processing", 1, progress=50)  # half done
    in_line("uploaded", 2)
    in_line("uploaded", 3, priority=BULK)  # another queue: not ahead
    mine = MediaAsset.objects.create(owner=me, state="uploaded", priority=USER,
                                     queued_at=start + timedelta(seconds=4))
    in_line("uploaded", 5)  # behind

    # no upload processed recently: the place, and no made-up estimate
    body = client.get(f"/api/v1/media/assets/{mine.pk}").json()
    assert body["queue_position"] == 3
    assert body["estimated_start_seconds"] is None

    # measured: recent uploads took 20 s of worker time each (the bulk ones do not count)
    _finished(USER, seconds=18)
    _finished(USER, seconds=22)
    _finished(BULK, seconds=500)
    body = client.get(f"/api/v1/media/assets/{mine.pk}").json()
    assert body["queue_position"] == 3
    assert body["estimated_start_seconds"] == 30  # 20 s * 0.5 (half done) + 20 s

    with override_settings(MEDIA_USER_WORKER_CONCURRENCY=2):
        assert client.get(f"/api/v1/media/assets/{mine.pk}").json()[
            "estimated_start_seconds"] == 15

    # once work on it began, progress speaks instead
    MediaAsset.objects.filter(pk=mine.pk).update(state="processing", progress=12)
    ProcessingStep.objects.create(asset=mine, name="rendition-240", state="running",
                                  started_at=timezone.now(), heartbeat_at=timezone.now())
    body = client.get(f"/api/v1/media/assets/{mine.pk}").json()
    assert body["queue_position"] is None
    assert body["estimated_start_seconds"] is None
    assert body["progress"] == 12
    # and the websocket's status says the same as the API
    status = services.asset_status(MediaAsset.objects.get(pk=mine.pk))
    assert status["queue_position"] is None


def _bulk_backlog(clip: Any, count: int) -> list[int]:
    """Catalogue uploads on the bulk queue (as the demo seed makes them)."""
    owner = UserFactory()
    ids = []
    data = clip.read_bytes()
    for _ in range(count):
        asset = services.upload_create(owner_id=owner.pk, size=len(data),
                                       content_type="video/mp4", priority=BULK)
        services.upload_append(asset_id=asset.pk, offset=0, length=len(data), chunks=[data])
        ids.append(asset.pk)
    return ids


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_of_the_user_queue_processes_an_upload_while_bulk_work_waits(
        celery_worker_process, clips):
    from celery import current_app

    # the session's worker serves the user queue only (bulk work has its own worker,
    # which is busy or absent: here, absent)
    def answering() -> list[str]:
        replies = current_app.control.ping(timeout=1.0) or []
        return [node for reply in replies for node in reply if node.startswith("test@")]

    wait_for(lambda: bool(answering()), "the session worker to start", seconds=300)
    node = answering()[0]
    current_app.control.cancel_consumer(routing.queue_for(BULK), destination=[node],
                                        reply=True)
    try:
        backlog = _bulk_backlog(clips["vertical"], 4)
        assert routing.messages_waiting(routing.queue_for(BULK)) == 4

        client = APIClient()
        client.force_authenticate(UserFactory())
        asset_id = int(upload_file(client, clips["vertical"]))
        wait_for(lambda: MediaAsset.objects.get(pk=asset_id).state == "ready",
                 "the user's upload to be processed", seconds=180)

        # the bulk backlog is still waiting, untouched
        assert routing.messages_waiting(routing.queue_for(BULK)) == 4
        assert set(MediaAsset.objects.filter(pk__in=backlog).values_list(
            "state", flat=True)) == {"uploaded"}
    finally:
        current_app.control.add_consumer(routing.queue_for(BULK), destination=[node],
                                         reply=True)
    wait_for(lambda: not MediaAsset.objects.filter(pk__in=backlog).exclude(
        state="ready").exists(), "the backlog to be processed once bulk is served",
        seconds=240)
    for pk in [*backlog, asset_id]:
        storage.remove_asset_files(pk)
