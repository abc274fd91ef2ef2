"""Feed test helpers: published posts with hashtags and sounds, a fresh pool cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.content.models import Hashtag, Post, PostHashtag
from apps.feed import online, pools, ranking, serving
from tests.content.factories import PostFactory


@pytest.fixture(autouse=True)
def _fresh_feed_state() -> Iterator[None]:
    """Each test sees its own rows: no pools or model cached from an earlier test."""
    pools.forget()
    ranking.forget_model()
    online.reset()
    serving.forget_scored()
    yield
    pools.forget()
    ranking.forget_model()
    online.reset()
    serving.forget_scored()


def make_post(*, tags: tuple[str, ...] = (), **kwargs: Any) -> Post:
    caption = kwargs.pop("caption", None)
    if caption is None:
        caption = "clip " + " ".join(f"#{t}" for t in tags)
    entities = []
    for tag in tags:
        start = caption.find(f"#{tag}")
        entities.append({"type": "hashtag", "start": start, "end": start + len(tag) + 1,
                         "text": f"#{tag}", "name": tag.lower()})
    post = PostFactory(caption=caption, caption_entities=entities, **kwargs)
    for tag in tags:
        hashtag, _ = Hashtag.objects.get_or_create(name=tag.lower())
        PostHashtag.objects.get_or_create(post=post, hashtag=hashtag)
    return post  # type: ignore[no-any-return]


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]


def ids_of(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]
