"""Transcripts feed search (issue 16, captions): a video's spoken words are its caption
tracks' text; publishing, editing or deleting a track re-indexes the posts using the asset
(media's captions-changed hook, in the change's transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.content import services
from apps.media import services as media_services
from apps.media import storage
from apps.media.models import CaptionTrack
from apps.search.engine import get_backend
from apps.search.engine.base import SearchBackend
from apps.search.indexing import pipeline
from apps.search.models import IndexOutbox
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory

VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nthe marmalade volcano erupts\n"


@pytest.fixture(params=["tantivy", "postgres"])
def index(request: pytest.FixtureRequest, settings: Any) -> Iterator[SearchBackend]:
    settings.SWIPEME_SEARCH_BACKEND = request.param
    backend = get_backend()
    backend.clear()
    backend.mark_built()
    yield backend
    backend.clear()


def _ids(backend: SearchBackend, query: str) -> list[int]:
    return [hit.id for hit in backend.search("video", query, limit=50)]


@pytest.mark.django_db(transaction=True)
def test_a_videos_spoken_words_find_it_and_edits_re_index_it(index: SearchBackend) -> None:
    author = UserFactory()
    asset = MediaAssetFactory(owner=author, duration_ms=15_000)
    post = services.post_create(author=author, asset_id=asset.pk, caption="a day out")
    pipeline.drain()
    assert _ids(index, "marmalade volcano") == []
    try:
        media_services.caption_track_upload(asset=asset, language="en", data=VTT)
        assert IndexOutbox.objects.filter(kind="video", object_id=post.pk).exists()
        pipeline.drain()
        assert _ids(index, "marmalade volcano") == [post.pk]

        track = CaptionTrack.objects.get(asset=asset)
        media_services.caption_track_edit(track=track, cues=[
            {"start_ms": 1000, "end_ms": 3000, "text": "the strawberry jam"}])
        pipeline.drain()
        assert _ids(index, "marmalade") == []
        assert _ids(index, "strawberry jam") == [post.pk]

        media_services.caption_track_delete(track=CaptionTrack.objects.get(asset=asset))
        pipeline.drain()
        assert _ids(index, "strawberry") == []
        assert _ids(index, "a day out") == [post.pk]
    finally:
        storage.remove_asset_files(asset.pk)
