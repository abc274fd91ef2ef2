"""Exactly-once publishing under real concurrency: every thread has its own PostgreSQL
connection and its own transactions (transaction=True), released at once by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.content import services
from apps.content.models import Hashtag, Post
from apps.media import hooks
from apps.media.models import MediaAsset
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _run_at_once(jobs: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(len(jobs))
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            result = job()
            with lock:
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def _publisher_for(asset_id: int) -> Callable[[], object]:
    return lambda: services.posts_publish_for_asset(asset_id=asset_id)


def _pinner(author: User, post_id: int) -> Callable[[], object]:
    return lambda: services.post_pin(user=author, post_id=post_id)


def _creator(author: User, asset_id: int, caption: str) -> Callable[[], object]:
    return lambda: services.post_create(author=author, asset_id=asset_id, caption=caption)


def _tagged_scheduled_post(author, due_at):  # type: ignore[no-untyped-def]
    post = PostFactory(author=author, status=Post.Status.SCHEDULED, published_at=None,
                       scheduled_for=due_at)
    services._apply_caption(post, services._parse("#race"), author=author)
    post.save()
    return post


def test_two_beat_workers_publish_each_due_post_exactly_once():
    # given: 30 due posts sharing a hashtag
    author = UserFactory()
    past = timezone.now() - timedelta(minutes=1)
    posts = [_tagged_scheduled_post(author, past) for _ in range(30)]

    # when: two workers (and then two more) run the due task at the same moment
    results, errors = _run_at_once([services.posts_publish_due for _ in range(4)])

    # then: every post published once, counted once
    assert errors == []
    assert sum(results) == 30  # type: ignore[arg-type]
    assert set(Post.objects.values_list("status", flat=True)) == {"published"}
    assert Post.objects.filter(pk__in=[p.pk for p in posts],
                               published_at__isnull=False).count() == 30
    assert Hashtag.objects.get().posts_count == 30


def test_the_playable_hook_and_the_sweep_racing_publish_once():
    author = UserFactory()
    assets = [MediaAssetFactory(owner=author, state=MediaAsset.State.PROCESSING)
              for _ in range(10)]
    for asset in assets:
        services.post_create(author=author, asset_id=asset.pk, caption="#race")
    MediaAsset.objects.filter(pk__in=[a.pk for a in assets]).update(playable_at=timezone.now())

    jobs: list[Callable[[], object]] = [services.posts_publish_due, services.posts_publish_due]
    jobs += [_publisher_for(asset.pk) for asset in assets]
    results, errors = _run_at_once(jobs)

    assert errors == []
    assert sum(results) == 10  # type: ignore[arg-type]
    assert Hashtag.objects.get().posts_count == 10
    hooks.run_asset_playable_hooks(asset_id=assets[0].pk)
    assert Hashtag.objects.get().posts_count == 10


def test_concurrent_pins_never_make_a_fourth():
    author = UserFactory()
    posts = [PostFactory(author=author) for _ in range(8)]
    _, errors = _run_at_once([_pinner(author, post.pk) for post in posts])
    assert len(errors) == 5
    assert Post.objects.filter(pinned_at__isnull=False).count() == 3


def test_two_posts_creating_the_same_new_hashtag_at_once_share_one_row():
    authors = [UserFactory() for _ in range(6)]
    assets = [MediaAssetFactory(owner=a) for a in authors]
    _, errors = _run_at_once([_creator(author, asset.pk, "#BrandNew")
                              for author, asset in zip(authors, assets, strict=True)])
    assert errors == []
    assert list(Hashtag.objects.values_list("posts_count", flat=True)) == [6]
