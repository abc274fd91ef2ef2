"""The indexing pipeline with real Celery workers: a publish becomes searchable through the
drain task sent on commit, a first start rebuilds the index by itself, and an indexer
killed with SIGKILL while it drains (and while changes wait) loses nothing: after a
restart every change is in the index exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest
from django.db import connection, transaction

from apps.content import services
from apps.content.models import Post
from apps.search.engine import get_backend
from apps.search.engine.base import SearchBackend
from apps.search.indexing import pipeline
from apps.search.indexing.outbox import index_changed
from apps.search.models import IndexOutbox
from apps.search.tasks import drain_index_outbox
from tests.conftest import ROOT, _log_path, _subprocess_env
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture(autouse=True)
def _drain_on_commit(settings: Any) -> None:
    settings.SWIPEME_SEARCH_DRAIN_ON_COMMIT = True  # off in the other tests (settings.test)


@pytest.fixture
def index() -> Iterator[SearchBackend]:
    backend = get_backend()
    backend.clear()
    backend.mark_built()
    yield backend
    backend.clear()


def _ids(backend: SearchBackend, query: str) -> list[int]:
    return [hit.id for hit in backend.search("video", query, limit=50)]


def _worker_answers(name: str) -> bool:
    from swipeme_site.celery import app

    replies = app.control.ping(timeout=1.0) or []
    return any(node.startswith(f"{name}@") for reply in replies for node in reply)


def test_a_publish_is_searchable_through_the_drain_sent_on_commit(
        celery_worker_process: subprocess.Popen[bytes], index: SearchBackend) -> None:
    wait_for(lambda: _worker_answers("test"), "the session worker", seconds=420)
    author = UserFactory()
    post = services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                caption="a heron fishing at dawn")
    assert post.status == Post.Status.PUBLISHED
    wait_for(lambda: _ids(index, "heron") == [post.pk], "the post to be searchable", 30)
    wait_for(lambda: not IndexOutbox.objects.exists(), "the outbox to be drained", 10)

    services.post_remove(post_id=post.pk)  # taken down: gone from the index too
    wait_for(lambda: _ids(index, "heron") == [], "the post to leave the index", 30)


def test_a_first_start_rebuilds_the_index_by_itself(
        celery_worker_process: subprocess.Popen[bytes], index: SearchBackend) -> None:
    wait_for(lambda: _worker_answers("test"), "the session worker", seconds=420)
    post = PostFactory(caption="a catalogue made before search existed")  # no outbox row
    index.clear()  # a fresh machine: no index at all
    assert not index.is_built()

    drain_index_outbox.delay()  # what beat sends every 3 s

    wait_for(index.is_built, "the first-start rebuild", seconds=60)
    assert _ids(index, "catalogue") == [post.pk]


# --- a killed indexer ------------------------------------------------------------------------

def _start_worker(name: str, *, batch: int) -> subprocess.Popen[bytes]:
    log = _log_path(f"search-{name}").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "swipeme_site", "worker", "-Q", "default",
         "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "-n", f"{name}@%h"],
        env={**_subprocess_env(), "SWIPEME_SEARCH_DRAIN_BATCH": str(batch)},
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    main = psutil.Process(proc.pid)
    for process in [main, *main.children(recursive=True)]:
        process.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _writer_lock_held() -> bool:
    key = pipeline.WRITER_LOCK
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND classid = %s AND objid = %s", [key >> 32, key & 0xFFFFFFFF])
        (held,) = cursor.fetchone()
    return bool(held)


@pytest.mark.timeout(1200)
def test_an_indexer_killed_mid_drain_loses_nothing_and_indexes_each_change_once(
        broker_unconsumed: None, index: SearchBackend) -> None:
    # given 400 published posts whose changes wait in the outbox
    author = UserFactory()
    posts = [PostFactory(author=author, caption=f"tidepool{n:03} creature") for n in range(400)]
    first = _start_worker("search-kill-first", batch=10)  # 40 batches: a kill lands mid-way
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: _worker_answers("search-kill-first"), "the first worker", 420)
        with transaction.atomic():
            index_changed(kind="video", ids=[post.pk for post in posts])
        total = IndexOutbox.objects.count()
        assert total == len(posts)

        # when the indexer is killed -9 while it drains (a batch open: the writer lock held,
        # some batches already committed)
        def mid_drain() -> bool:
            return _writer_lock_held() and 0 < IndexOutbox.objects.count() < total

        wait_for(mid_drain, "the drain to be half-way", seconds=120)
        _kill_tree(first)
        left = IndexOutbox.objects.count()
        assert 0 < left < total
        # the committed batches are in (a batch killed after its index write and before
        # its commit is in too, and is applied again: an upsert)
        assert index.count("video") >= total - left

        # and changes keep coming while no indexer runs: they wait in the outbox
        edited, removed = posts[0], posts[-1]
        services.post_update(user=author, post_id=edited.pk, caption="tidepool anemone")
        services.post_remove(post_id=removed.pk)
        assert IndexOutbox.objects.count() == left + 2

        # then a restarted indexer (the on-commit requests above wait for it) drains it all
        second = _start_worker("search-kill-second", batch=10)
        wait_for(lambda: not IndexOutbox.objects.exists(), "the restarted drain", 420)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                _kill_tree(proc)

    # every change is in the index once: one document per live post, the edit and the
    # removal applied, nothing twice
    assert index.count("video") == len(posts) - 1
    found = [hit.id for hit in index.search("video", "creature", limit=500)]
    assert len(found) == len(set(found))
    assert set(found) == {post.pk for post in posts} - {edited.pk, removed.pk}
    assert _ids(index, "anemone") == [edited.pk]
