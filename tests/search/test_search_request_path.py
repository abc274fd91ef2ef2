"""What a search costs on its way through the request (issue 13, HTTP speed): candidates
ranked on a few columns with only the page loaded, the candidate statements compiled once
(and again when a rule's setting changes), the query vector embedded once across processes
and never while typing, nor waited for when the keywords fill the window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.db.models.signals import post_init
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.feed import embeddings
from apps.feed.services import embed_posts
from apps.search.services import retrieval
from apps.search.services.query import top, use_case
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search
from tests.search.test_indexing_worker import wait_for
from tests.social.factories import FollowFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


@pytest.fixture
def posts_made() -> Iterator[list[int]]:
    """The ids of the Post instances the code under test builds (Django's post_init)."""
    made: list[int] = []

    def count(sender: Any, instance: Post, **_: Any) -> None:
        made.append(instance.pk)

    post_init.connect(count, sender=Post, weak=False)
    yield made
    post_init.disconnect(count, sender=Post)


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The texts the real MiniLM encoder is asked to embed."""
    calls: list[list[str]] = []
    real = embeddings.encode

    def spy(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embeddings, "encode", spy)
    return calls


def test_only_the_page_of_videos_is_loaded_whatever_the_candidates(
        api_client: APIClient, posts_made: list[int]) -> None:
    # given: 40 matching videos
    posts = [PostFactory(caption=f"marble run build {i}", views_count=i) for i in range(40)]
    index(*posts)
    posts_made.clear()

    # when: a page of 5 (as you type and in full)
    for mode in ("prefix", "full"):
        body = search(api_client, "marble run", tab="videos", mode=mode, limit=5)
        assert len(ids(body)) == 5

    # then: ranking read columns; only the pages' posts became model instances (5 per
    # search, not the 40 candidates)
    assert len(posts_made) == 10, posts_made
    assert set(posts_made) >= {int(i) for i in ids(body)}


def test_the_ranking_on_columns_keeps_the_order_and_the_pages(api_client: APIClient) -> None:
    # given: the same caption, the more viewed first; one followed author
    viewer = UserFactory()
    posts = [PostFactory(caption="sunset timelapse", views_count=10 ** i) for i in range(6)]
    FollowFactory(follower=viewer, followee=posts[0].author)
    index(*posts)
    api_client.force_authenticate(viewer)

    # when: walking the pages
    first = search(api_client, "sunset timelapse", tab="videos", limit=4)
    second = search(api_client, "sunset timelapse", tab="videos", limit=4,
                    cursor=first["next_cursor"])

    # then: the followed author's (least viewed) video leads, then by views; no overlap
    assert ids(first) + ids(second) == [str(posts[0].pk)] + [
        str(p.pk) for p in reversed(posts[1:])]


def test_a_changed_rule_setting_applies_to_the_compiled_statements(
        api_client: APIClient, settings: Any) -> None:
    # given: a 15-year-old creator, a protected minor (under 16): their videos are not
    # surfaced to strangers, and the statement for signed-out viewers is compiled
    creator = UserFactory(date_of_birth=timezone.localdate() - timedelta(days=365 * 15 + 10))
    post = PostFactory(author=creator, caption="science fair volcano")
    index(post)
    assert ids(search(api_client, "science fair volcano", tab="videos")) == []

    # when: the protected age is lowered to 14
    settings.SWIPEME_PROTECTED_MINOR_AGE = 14

    # then: the next search applies it (the compiled statement was recompiled)
    assert ids(search(api_client, "science fair volcano", tab="videos")) == [str(post.pk)]


def test_as_you_type_never_embeds_the_query(
        api_client: APIClient, embedded: list[list[str]]) -> None:
    post = PostFactory(caption="funny cat compilation")
    index(post)
    for tab in ("top", "videos"):
        assert ids(search(api_client, "funny ca", tab=tab, mode="prefix"), "video") == [
            str(post.pk)]
    assert embedded == []


def test_a_query_is_embedded_once_for_every_process(
        api_client: APIClient, embedded: list[list[str]]) -> None:
    # given: a full search embedded the query
    post = PostFactory(caption="harbour lights at night")
    index(post)
    assert ids(search(api_client, "harbour lights", tab="videos")) == [str(post.pk)]
    assert embedded == [["harbour lights"]]
    assert cache.get(retrieval._vector_key("harbour lights")) is not None

    # when: another web process (its own in-process cache empty) searches the same
    retrieval._query_vector.cache_clear()
    assert ids(search(api_client, "Harbour  LIGHTS", tab="videos")) == [str(post.pk)]

    # then: the vector came from the shared cache, and is the one the model gives
    assert embedded == [["harbour lights"]]
    assert np.allclose(retrieval._embed("harbour lights"),
                       embeddings.encode(["harbour lights"])[0], atol=1e-6)


def test_a_new_query_with_a_full_keyword_window_does_not_wait_for_its_embedding(
        api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: more keyword matches than the candidate window (4 here), a paraphrase only
    # the semantic search finds, real caption vectors; the query's embedding is slow
    monkeypatch.setattr(use_case, "CANDIDATE_WINDOW", 4)
    kitten = PostFactory(caption="my kitten being silly")
    cats = [PostFactory(caption=f"funny cat compilation {i}") for i in range(5)]
    index(kitten, *cats)
    assert embed_posts() == 6
    release = threading.Event()
    real = embeddings.encode

    def slow(texts: list[str]) -> np.ndarray:
        release.wait(30)
        return real(texts)

    monkeypatch.setattr(embeddings, "encode", slow)
    try:
        # when: the first page is asked while the embedding runs
        first = search(api_client, "funny cat", tab="videos", limit=2)

        # then: it answered from the keywords alone, without waiting
        assert set(ids(first)) <= {str(p.pk) for p in cats}
        assert not retrieval.query_vector_ready("funny cat")
    finally:
        release.set()
    wait_for(lambda: retrieval.query_vector_ready("funny cat"), "the embedding", 30)

    # and: its next page keeps that ranking (the cursor says keyword-only) although the
    # vector is ready now: no paraphrase, no repeat
    second = search(api_client, "funny cat", tab="videos", limit=2,
                    cursor=first["next_cursor"])
    assert len(set(ids(first) + ids(second))) == 4
    assert str(kitten.pk) not in ids(second)

    # and: the next search of the same words fuses the semantic candidates
    assert str(kitten.pk) in ids(search(api_client, "funny cat", tab="videos", limit=10))



def test_top_reads_the_live_tab_only_while_a_live_is_on_air(
        api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.live import selectors as live_selectors
    from apps.live.models import LiveStream

    calls: list[object] = []
    real = live_selectors.live_tab

    def spy(viewer: Any, **kwargs: Any) -> Any:
        calls.append(viewer)
        return real(viewer, **kwargs)

    monkeypatch.setattr(live_selectors, "live_tab", spy)
    host = UserFactory(username="vinylnights", display_name="Vinyl Nights")
    index(host)

    # nothing on air: the probe answers, live's query is not built
    assert ids(search(api_client, "vinylnights"), "live") == []
    assert calls == []

    # on air: live's rule decides, and the live is on Top
    live = LiveStream.objects.create(host=host, title="Records", state=LiveStream.State.LIVE,
                                     started_at=timezone.now() - timedelta(minutes=1))
    assert ids(search(api_client, "vinylnights"), "live") == [str(live.pk)]
    assert len(calls) == 1

    # ended: gone at once, and no query again
    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED,
                                                 ended_at=timezone.now())
    assert ids(search(api_client, "vinylnights"), "live") == []
    assert len(calls) == 1


def test_top_waits_for_a_new_querys_embedding_only_when_its_keyword_videos_miss_a_page(
        api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: more keyword matches than Top's wait threshold (4 here, a page in production)
    # but fewer than the candidate window, a paraphrase only the semantic search finds,
    # real caption vectors; the query's embedding is slow
    monkeypatch.setattr(top, "TOP_SEMANTIC_WAIT_BELOW", 4)
    kitten = PostFactory(caption="my kitten being silly")
    cats = [PostFactory(caption=f"funny cat compilation {i}") for i in range(5)]
    index(kitten, *cats)
    assert embed_posts() == 6
    release = threading.Event()
    real = embeddings.encode

    def slow(texts: list[str]) -> np.ndarray:
        release.wait(30)
        return real(texts)

    monkeypatch.setattr(embeddings, "encode", slow)
    try:
        # when: Top is asked while the embedding runs
        first = search(api_client, "funny cat")

        # then: it answered from the keywords alone, without waiting
        assert set(ids(first, "video")) == {str(p.pk) for p in cats}
        assert not retrieval.query_vector_ready("funny cat")
    finally:
        release.set()
    wait_for(lambda: retrieval.query_vector_ready("funny cat"), "the embedding", 30)

    # and: the next Top search of the same words fuses the semantic candidates
    assert str(kitten.pk) in ids(search(api_client, "funny cat"), "video")
    # and: with fewer keyword videos than the threshold, Top waits (as the Videos tab
    # does below its window): a paraphrase is found on the first search
    monkeypatch.setattr(top, "TOP_SEMANTIC_WAIT_BELOW", 6)
    retrieval._query_vector.cache_clear()
    cache.clear()
    assert str(kitten.pk) in ids(search(api_client, "funny cats"), "video")


def test_top_reads_the_videos_and_the_on_air_probe_in_one_round_trip(
        api_client: APIClient) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.live.models import LiveStream

    # given: a video the query names, nothing on air
    post = PostFactory(caption="harbour lights at night")
    index(post)
    lives, posts = LiveStream._meta.db_table, Post._meta.db_table

    # when: Top is searched
    with CaptureQueriesContext(connection) as done:
        answer = search(api_client, "harbour lights", mode="prefix")

    # then: the probe went in the statement that read the candidates' facts
    assert ids(answer, "video") == [str(post.pk)]
    probes = [q["sql"] for q in done.captured_queries if f'"{lives}"' in q["sql"]]
    assert len(probes) == 1
    assert f'"{posts}"' in probes[0]
    assert "; " in probes[0]
