"""Writes lose nothing (issue 24), against the real ASGI server on a Redis of the test's own:
likes, favourites, shares, comments, views and events sent while Redis is up, hung
(SIGSTOP), dead (SIGKILL) and back (restarted empty) are either committed to PostgreSQL or
refused with 503 + Retry-After in the error shape; counters show the last flushed value
while Redis is dead, and every committed like, favourite, share and view is on its post's
counter after the restart; every event the API accepted during and after the outage is in
the stream exactly once after the spool drains; and uploads that complete while the broker
is dead are processed by a real worker once it is back (the task outbox).

The drain and the outbox's dispatcher run as `manage.py` commands on the private Redis (the
beat's tasks call the same functions)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.comments.models import Comment
from apps.content.models import Post
from apps.core.models import OutboxTask
from apps.engagement import counters
from apps.engagement.models import Favourite, Like, Share
from apps.events.models import SpooledBatch
from apps.media.models import MediaAsset
from tests.conftest import ROOT, _log_path, _subprocess_env
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis
from tests.faults.test_redis_outage import CLIENT_TIMEOUT, _readyz, _sign_in, _wait_until
from tests.media.conftest import make_clip

OK = (200, 201, 204)


def _env_on(private_redis: PrivateRedis) -> dict[str, str]:
    return {**_subprocess_env(), "TEST_REDIS_URL": private_redis.url,
            "REDIS_URL": private_redis.url, "SWIPEME_FEED_REDIS_URL": ""}


def _manage(private_redis: PrivateRedis, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], env=_env_on(private_redis),
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _assert_refused_cleanly(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Retry-After"].isdigit(), response.headers
    assert set(response.json()["error"]) >= {"code", "message", "fields"}, response.text


@dataclass
class Ledger:
    """Every write sent and what the API answered."""

    likes: list[tuple[int, int, int]] = field(default_factory=list)  # user, post, status
    favourites: list[tuple[int, int, int]] = field(default_factory=list)
    shares: list[tuple[int, int, int]] = field(default_factory=list)
    comments: list[tuple[str, int]] = field(default_factory=list)  # text, status
    views: list[tuple[int, int, bool]] = field(default_factory=list)  # post, status, counted
    events: list[tuple[str, str, int]] = field(default_factory=list)  # phase, id, status

    def statuses(self) -> Counter[int]:
        return Counter([s for *_, s in self.likes + self.favourites + self.shares]
                       + [s for _, s in self.comments]
                       + [s for _, s, _ in self.views] + [s for *_, s in self.events])


def _traffic(base: str, ledger: Ledger, *, phase: str, post: Post,
             viewers: list[tuple[Any, str]]) -> None:
    """Each viewer likes, saves and shares `post`, comments on it, watches it and sends two
    events."""
    for user, token in viewers:
        headers = {"X-Session-Token": token}
        for kind, sent in (("likes", {}), ("favourites", {}),
                           ("shares", {"json": {"channel": "copy_link"}})):
            action = {"likes": "like", "favourites": "favourite", "shares": "share"}[kind]
            response = httpx.post(f"{base}/api/v1/posts/{post.pk}/{action}", headers=headers,
                                  timeout=CLIENT_TIMEOUT, **sent)  # type: ignore[arg-type]
            getattr(ledger, kind).append((user.pk, post.pk, response.status_code))
            if response.status_code not in OK:
                _assert_refused_cleanly(response)

        text = f"{phase}: still here ({user.pk})"
        response = httpx.post(f"{base}/api/v1/posts/{post.pk}/comments", json={"text": text},
                              headers=headers, timeout=CLIENT_TIMEOUT)
        ledger.comments.append((text, response.status_code))
        if response.status_code not in OK:
            _assert_refused_cleanly(response)

        response = httpx.post(f"{base}/api/v1/posts/{post.pk}/view", json={"watched_ms": 5000},
                              headers=headers, timeout=CLIENT_TIMEOUT)
        counted = response.status_code == 200 and response.json()["counted"] is True
        ledger.views.append((post.pk, response.status_code, counted))
        if response.status_code != 200:
            _assert_refused_cleanly(response)

        ids = [f"{phase}-{user.pk}-{n}" for n in range(2)]
        events = [{"id": event_id, "type": "impression", "ts": time.time_ns() // 10**6,
                   "session_id": f"faults-{user.pk}", "post_id": str(post.pk), "data": {}}
                  for event_id in ids]
        response = httpx.post(f"{base}/api/v1/events", json={"events": events},
                              headers=headers, timeout=CLIENT_TIMEOUT)
        for event_id in ids:
            ledger.events.append((phase, event_id, response.status_code))
        if response.status_code == 200:
            assert response.json()["accepted"] == 2, response.text
        else:
            _assert_refused_cleanly(response)


def _stream_event_ids(private_redis: PrivateRedis) -> Counter[str]:
    client = private_redis.client()
    seen: Counter[str] = Counter()
    for _entry_id, fields in client.xrange("events:{log}:stream"):
        for event in json.loads(fields[b"b"])["e"]:
            seen[event["id"]] += 1
    return seen


@pytest.mark.django_db(transaction=True)
def test_writes_during_a_redis_outage_are_committed_or_refused_and_none_is_lost(
    asgi_server_on_private_redis: str, private_redis: PrivateRedis
) -> None:
    base = asgi_server_on_private_redis
    author = UserFactory()
    posts = {phase: PostFactory(author=author, caption=f"{phase} #faults")
             for phase in ("up", "hung", "dead", "back")}
    viewers = [(user, _sign_in(base, user.username))
               for user in (UserFactory() for _ in range(3))]
    ledger = Ledger()

    _traffic(base, ledger, phase="up", post=posts["up"], viewers=viewers)
    _manage(private_redis, "shell", "-c", "from apps.engagement.counters import flush; flush()")
    private_redis.hang()
    try:
        _traffic(base, ledger, phase="hung", post=posts["hung"], viewers=viewers)
    finally:
        private_redis.resume()
    private_redis.kill()
    _traffic(base, ledger, phase="dead", post=posts["dead"], viewers=viewers)
    # counters show the last flushed value meanwhile
    shown = httpx.get(f"{base}/api/v1/posts/{posts['up'].pk}", timeout=CLIENT_TIMEOUT)
    assert shown.status_code == 200, shown.text
    assert {k: shown.json()["counts"][k] for k in ("likes", "favourites", "shares",
                                                    "views", "comments")} == dict.fromkeys(
        ("likes", "favourites", "shares", "views", "comments"), 3)
    private_redis.start()  # empty: the stream, dedupe markers, display entries are gone
    _wait_until(lambda: _readyz(base)["checks"]["redis_breaker"] == "closed",
                "the breaker closes")
    _traffic(base, ledger, phase="back", post=posts["back"], viewers=viewers)

    # then: no answer was anything but a success or a clean refusal (checked as sent) ...
    statuses = ledger.statuses()
    assert set(statuses) <= {200, 201, 503}, statuses
    # ... likes, comments and events never needed a refusal, views did while Redis was away
    assert all(s in OK for *_, s in ledger.likes + ledger.favourites + ledger.shares
               + ledger.events), ledger
    assert all(s in OK for _, s in ledger.comments), ledger.comments
    assert [s for post_id, s, _ in ledger.views if post_id == posts["dead"].pk] == [503] * 3

    # every answered like and comment is in PostgreSQL, and none that was refused
    for rows, model in ((ledger.likes, Like), (ledger.favourites, Favourite),
                        (ledger.shares, Share)):
        for user_id, post_id, status in rows:
            assert model.objects.filter(user_id=user_id, post_id=post_id).exists() == (
                status in OK), (model, status)
    for text, status in ledger.comments:
        assert Comment.objects.filter(text=text).exists() == (status in OK)

    # the counters: the journal loses nothing to the restart
    counters.flush()
    for post in posts.values():
        post.refresh_from_db()
        assert post.likes_count == Like.objects.filter(post=post).count() == 3, post
        assert post.favourites_count == Favourite.objects.filter(post=post).count() == 3
        assert post.shares_count == Share.objects.filter(post=post).count() == 3
        counted = sum(1 for post_id, _, ok in ledger.views if post_id == post.pk and ok)
        assert post.views_count == counted, (post, counted)
    assert posts["up"].views_count == posts["back"].views_count == 3

    # the events spooled during the outage enter the stream once each when it drains
    assert SpooledBatch.objects.exists()
    spooled = SpooledBatch.objects.count()
    # the command twice in one process start (a manage.py start is seconds of CPU)
    out = _manage(
        private_redis, "shell", "-c",
        "from django.core.management import call_command\n"
        "from apps.events.models import SpooledBatch\n"
        "call_command('events_drain_spool')\n"
        "print('spooled left:', SpooledBatch.objects.count())\n"
        "call_command('events_drain_spool')").splitlines()
    first, left, second = [line for line in out
                           if line.startswith(("events_drain_spool:", "spooled left:"))]
    assert f"{spooled} batch(es), {2 * spooled} event(s) appended, 0 duplicate" in first
    assert left == "spooled left: 0"
    assert not SpooledBatch.objects.exists()
    assert "0 batch(es)" in second  # nothing twice
    in_stream = _stream_event_ids(private_redis)
    # (the "up" phase's entries died with the Redis that held them: no persistence here)
    accepted = [event_id for phase, event_id, status in ledger.events
                if phase != "up" and status == 200]
    assert len(accepted) == 3 * 3 * 2
    assert {event_id: in_stream[event_id] for event_id in accepted} == dict.fromkeys(
        accepted, 1)


# --- the broker (Redis) dead while uploads complete: the outbox -------------------------------


@pytest.fixture
def worker_on_private_redis(private_redis: PrivateRedis) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (every queue) whose broker is the private Redis, started when
    the test asks for it (after the Redis came back)."""
    from django.conf import settings

    log = open(_log_path("worker-faults"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "swipeme_site", "worker",
         "-Q", ",".join(settings.SWIPEME_QUEUES), "--concurrency", "2", "--pool", "prefork",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", "faults@%h"],
        env=_env_on(private_redis), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _upload(base: str, token: str, clip: Path) -> int:
    data = clip.read_bytes()
    headers = {"X-Session-Token": token}
    response = httpx.post(f"{base}/api/v1/media/uploads", headers=headers,
                          json={"size": len(data), "content_type": "video/mp4"},
                          timeout=CLIENT_TIMEOUT)
    assert response.status_code == 201, response.text
    body = response.json()
    url = body["upload_url"]
    if url.startswith("/"):
        url = f"{base}{url}"
    response = httpx.patch(url, content=data, timeout=CLIENT_TIMEOUT, headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 204, response.text
    return int(body["id"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_uploads_that_complete_while_the_broker_is_dead_are_processed_when_it_returns(
    asgi_server_on_private_redis: str, private_redis: PrivateRedis, tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    base = asgi_server_on_private_redis
    creator = UserFactory()
    token = _sign_in(base, creator.username)
    clip = make_clip(tmp_path / "clip.mp4", size="240x426", seconds=1.5)

    # when: the broker dies, and two uploads complete
    private_redis.kill()
    asset_ids = [_upload(base, token, clip) for _ in range(2)]

    # then: they are stored and their processing waits in PostgreSQL, not lost
    for asset_id in asset_ids:
        assert MediaAsset.objects.get(pk=asset_id).state == MediaAsset.State.UPLOADED
    waiting = OutboxTask.objects.filter(task="apps.media.process_asset",
                                        dispatched_at__isnull=True)
    assert sorted(row.args[0] for row in waiting) == sorted(asset_ids)
    assert all(row.attempts == 1 and row.last_error for row in waiting)

    # when: the broker is back, a worker runs and the beat's dispatcher fires
    private_redis.start()
    request.getfixturevalue("worker_on_private_redis")
    assert "sent 2," in _manage(private_redis, "outbox_dispatch")

    # then: the worker processes both uploads
    def processed() -> bool:
        states = set(MediaAsset.objects.filter(pk__in=asset_ids)
                     .values_list("state", flat=True))
        assert not states & {"rejected", "failed"}, states
        return states <= {"ready"}

    _wait_until(processed, "the uploads to be processed", seconds=180)
    assert not OutboxTask.objects.filter(dispatched_at__isnull=True).exists()
    assert "sent 0," in _manage(private_redis, "outbox_dispatch")
