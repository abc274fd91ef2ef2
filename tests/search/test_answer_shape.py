"""The search answer built directly (each item serializer's `to_representation` and the
answer's, for speed) is exactly what the declared fields give (DRF's walk, the schema's),
for every kind of result as search loads it: avatars or none, a post with and without
public media, a live with and without a start time or cover, None and empty values, a
notice and a cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.live.models import LiveStream
from apps.search import selectors
from apps.search.api.serializers import ITEM_SERIALIZERS, SearchAnswerSerializer
from apps.search.services import SAFETY_NOTICE, SearchAnswer
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import tag_post

pytestmark = pytest.mark.django_db


def _declared(kind: str, row: Any) -> dict[str, Any]:
    """What DRF's walk of the item's declared fields gives."""
    return dict(serializers.Serializer.to_representation(ITEM_SERIALIZERS[kind](), row))


def _items() -> list[tuple[str, Any]]:
    maya = UserFactory(username="maya_dances", display_name="Maya", is_verified=True,
                       avatar_sizes={"100": "avatars/1/100.webp", "48": "avatars/1/48.webp"},
                       followers_count=123_456)
    blank = UserFactory(username="blankname", display_name="", avatar_sizes={})
    private = UserFactory(username="quietone", is_private=True, avatar_sizes={})
    public_post = PostFactory(author=maya, caption="Sunset ✨ مرحبا 日本", views_count=7)
    private_post = PostFactory(author=private, caption="")
    sound = LibrarySoundFactory(title="Blue Hour", artist="")
    tag = tag_post(public_post, "sunsetvibes")
    live = LiveStream.objects.create(host=maya, title="Vinyl night",
                                     state=LiveStream.State.LIVE,
                                     started_at=timezone.now() - timedelta(minutes=5))
    not_started = LiveStream(pk=2**62 + 1, host=blank, title="", started_at=None)
    viewer = None
    accounts = selectors.visible_accounts(viewer=viewer, ids=[maya.pk, blank.pk, private.pk])
    posts = selectors.videos_for_display([public_post.pk, private_post.pk])
    sounds = selectors.visible_sounds(viewer=UserFactory(), ids=[sound.pk])
    tags = selectors.visible_hashtags(viewer=viewer, ids=[tag.pk])
    lives = selectors.findable_lives(viewer=viewer)
    assert (len(accounts), len(posts), len(sounds), len(tags), len(lives)) == (3, 2, 1, 1, 1)
    return ([("account", row) for row in accounts.values()]
            + [("video", row) for row in posts.values()]
            + [("sound", row) for row in sounds.values()]
            + [("hashtag", row) for row in tags.values()]
            + [("live", row) for row in lives] + [("live", not_started)]
            + [("live", live)])


def test_every_item_built_directly_is_what_its_declared_fields_give() -> None:
    items = _items()
    for kind, row in items:
        direct = ITEM_SERIALIZERS[kind]().to_representation(row)
        assert direct == _declared(kind, row), kind
        assert list(direct) == list(_declared(kind, row)), kind  # the same key order
    kinds = {kind for kind, _ in items}
    assert kinds == set(ITEM_SERIALIZERS)


def test_the_answer_built_directly_is_what_its_declared_fields_give() -> None:
    items = _items()
    answers = [
        SearchAnswer(query="maya", tab="top", search_id="abc", results=items,
                     next_cursor="cursor-1"),
        SearchAnswer(query="", tab="videos", search_id="def"),
        SearchAnswer(query="hurt", tab="accounts", search_id="ghi", notice=SAFETY_NOTICE),
    ]
    for answer in answers:
        direct = SearchAnswerSerializer(answer).data
        declared = serializers.Serializer.to_representation(SearchAnswerSerializer(), answer)
        assert dict(direct) == dict(declared)
        assert list(direct) == list(declared)
    body = SearchAnswerSerializer(answers[0]).data
    assert [item["type"] for item in body["results"]][:3] == ["account"] * 3
    assert body["results"][0]["id"] == str(items[0][1].pk)
