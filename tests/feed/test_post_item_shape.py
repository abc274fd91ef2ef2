"""A feed page's posts built directly (`FeedPostSerializer.to_representation`, for speed:
issue 21) are exactly what DRF's walk of the declared fields gives, for posts as the feed
loads them (`serving.hydrate`, signed in and out): a plain post, one with a library sound
(usable, taken down, licensed elsewhere), an original sound, an author with an avatar,
mentions and hashtags, a branded post, a duet of a visible original, a scheduled and
pinned one, counters with deltas still pending in Redis, and the viewer's flags and reco
block."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content.api import serializers as content_serializers
from apps.content.models import Post
from apps.feed.api import serializers as feed_serializers
from apps.feed.api.serializers import FeedPostSerializer
from apps.feed.serving import hydrate
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _posts() -> tuple[Any, list[int]]:
    viewer = UserFactory(country="FR")
    maya = UserFactory(username="maya_h21", display_name="Maya", is_verified=True,
                       avatar_sizes={"100": "avatars/1/100.webp", "48": "avatars/1/48.webp"})
    live_host = UserFactory(username="other_h21", avatar_sizes={})
    usable = LibrarySoundFactory(title="Blue", artist="")
    gone = LibrarySoundFactory(is_taken_down=True)
    elsewhere = LibrarySoundFactory(territories=["US"])
    caption = "hi @maya_h21 #sunset"
    entities = [
        {"type": "mention", "start": 3, "end": 12, "text": "@maya_h21",
         "user_id": str(maya.pk), "username": "maya_h21"},
        {"type": "hashtag", "start": 13, "end": 20, "text": "#sunset", "name": "sunset"},
    ]
    original = PostFactory(author=maya, caption="the original")
    posts = [
        PostFactory(author=maya, caption=caption, caption_entities=entities, sound=usable,
                    views_count=12, likes_count=3),
        PostFactory(author=live_host, caption="", sound=gone),
        PostFactory(author=maya, sound=elsewhere, branded_partner="acme",
                    branded_source="author", pinned_at=timezone.now()),
        PostFactory(author=live_host, derived_from=original, derived_kind="duet",
                    scheduled_for=timezone.now() - timedelta(hours=1)),
        original,
    ]
    # An original sound: this post's own audio, reused by nobody.
    own = posts[1]
    own.original_sound = gone
    own.save(update_fields=["original_sound"])
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.post(f"/api/v1/posts/{posts[0].pk}/like").status_code in (200, 201)
    return viewer, [p.pk for p in posts]


def _render(posts: list[Post]) -> list[dict[str, Any]]:
    for i, post in enumerate(posts):
        post.feed_reco = {"source": "similar", "position": i,  # type: ignore[attr-defined]
                          "request_id": "abc"}
    return [dict(item) for item in FeedPostSerializer(posts, many=True).data]  # type: ignore[arg-type]


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_posts_built_directly_are_what_the_declared_fields_give(
        signed_in: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert feed_serializers._DIRECT_OK, "the post's shape changed: update _direct"
    viewer, ids = _posts()
    # Deltas engagement still buffers (the page's one read of them).
    monkeypatch.setattr(content_serializers, "pending_for",
                        lambda post_ids: {ids[0]: {"likes_count": 2, "views_count": -50}})
    found = hydrate(viewer if signed_in else None, ids)
    assert set(found) == set(ids)
    direct = _render([found[pid] for pid in ids])
    monkeypatch.setattr(feed_serializers, "_DIRECT_OK", False)
    found = hydrate(viewer if signed_in else None, ids)
    walked = _render([found[pid] for pid in ids])
    assert direct == walked
    for a, b in zip(direct, walked, strict=True):
        assert list(a) == list(b)  # the same key order, nested too
        for key in ("author", "media", "counts"):
            assert list(a[key]) == list(b[key])
    # The cases the post list claims are really there.
    assert (direct[0]["counts"]["likes"], direct[0]["counts"]["views"]) == (5, 0)
    assert direct[0]["entities"][0]["username"] == "maya_h21"
    assert direct[0]["author"]["avatar"]
    assert direct[1]["sound"]["muted"]
    assert direct[2]["sound"]["muted_reason"] == "territory"
    assert direct[2]["branded"]
    assert direct[2]["is_pinned"]
    assert direct[3]["derived_from"] is not None
    assert direct[3]["scheduled_for"]
    assert direct[0]["viewer"]["liked"] is signed_in

