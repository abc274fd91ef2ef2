"""Arranging search tests: real rows, and their documents written straight into the
configured engine with `get_backend().apply(...)` (the indexing pipeline is tested on its
own), so these tests exercise the query path alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Hashtag, Post, PostHashtag, Sound
from apps.search.engine import SearchDoc, get_backend
from apps.search.services import retrieval

URL = "/api/v1/search"


@pytest.fixture
def empty_index() -> Iterator[None]:
    """The engine starts empty (the index lives beside the test database and outlives a
    rolled-back test's rows)."""
    get_backend().clear()
    get_backend().mark_built()  # as after a completed rebuild (else: the "building" notice)
    retrieval._query_vector.cache_clear()
    cache.clear()  # throttle histories
    yield
    get_backend().clear()


def account_doc(user: User) -> SearchDoc:
    return SearchDoc(kind="account", id=user.pk,
                     fields={"handle": user.username, "display_name": user.display_name},
                     popularity=float(user.followers_count))


def video_doc(post: Post) -> SearchDoc:
    return SearchDoc(kind="video", id=post.pk, fields={"caption": post.caption},
                     popularity=float(post.views_count))


def sound_doc(sound: Sound) -> SearchDoc:
    return SearchDoc(kind="sound", id=sound.pk,
                     fields={"title": sound.title, "artist": sound.artist},
                     popularity=float(sound.posts_count))


def hashtag_doc(tag: Hashtag) -> SearchDoc:
    return SearchDoc(kind="hashtag", id=tag.pk, fields={"name": tag.name},
                     popularity=float(tag.posts_count))


def index(*rows: Any) -> None:
    """Write the rows' documents into the engine (each kind as the indexer would)."""
    docs = []
    for row in rows:
        if isinstance(row, User):
            docs.append(account_doc(row))
        elif isinstance(row, Post):
            docs.append(video_doc(row))
        elif isinstance(row, Sound):
            docs.append(sound_doc(row))
        elif isinstance(row, Hashtag):
            docs.append(hashtag_doc(row))
        else:
            raise TypeError(row)
    get_backend().apply(upserts=docs)


def tag_post(post: Post, name: str) -> Hashtag:
    tag, _ = Hashtag.objects.get_or_create(name=name)
    PostHashtag.objects.create(post=post, hashtag=tag)
    Hashtag.objects.filter(pk=tag.pk).update(posts_count=tag.posts_count + 1)
    tag.refresh_from_db()
    return tag


def search(client: APIClient, q: str, **params: Any) -> dict[str, Any]:
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any], kind: str | None = None) -> list[str]:
    return [item.get("id") or item["name"] for item in body["results"]
            if kind is None or item["type"] == kind]
