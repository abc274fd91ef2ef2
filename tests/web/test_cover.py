"""A tile shows the frame the creator picked, cut from the storyboard sprite."""

from __future__ import annotations

import pytest

from apps.media.signing import public_grant
from tests.content.factories import MediaAssetFactory, PostFactory

pytestmark = pytest.mark.django_db

STORYBOARD = {"image": "storyboard.jpg", "json": "storyboard.json", "vtt": "storyboard.vtt",
              "interval": 1.0, "count": 12, "columns": 10, "rows": 2, "width": 90,
              "height": 160}


def _tile(client, post) -> str:  # type: ignore[no-untyped-def]
    html: str = client.get(f"/@{post.author.username}").content.decode()
    return html.split(f'href="/@{post.author.username}/video/{post.pk}"', 1)[1].split("</a>")[0]


def test_the_chosen_frame_is_the_tiles_cover(browser_for):
    asset = MediaAssetFactory(outputs={"poster": "poster.jpg", "storyboard": STORYBOARD})
    post = PostFactory(author=asset.owner, asset=asset, cover_time_ms=11_000)
    tile = _tile(browser_for(None), post)
    # frame 11 of 12: column 1 of 10, row 1 of 2
    assert "background-position: 11.11% 100%" in tile
    assert "background-size: 1000% 200%" in tile
    assert f"/api/v1/media/play/{asset.pk}/{public_grant(asset.pk, 1)}/storyboard.jpg" in tile
    assert "<img" not in tile


def test_without_a_choice_or_for_a_landscape_video_the_poster_shows(browser_for):
    client = browser_for(None)
    plain = MediaAssetFactory(outputs={"poster": "poster.jpg", "storyboard": STORYBOARD})
    no_choice = PostFactory(author=plain.owner, asset=plain)
    assert "poster.jpg" in _tile(client, no_choice)
    wide = MediaAssetFactory(outputs={"poster": "poster.jpg", "storyboard": {
        **STORYBOARD, "width": 160, "height": 90}})
    landscape = PostFactory(author=wide.owner, asset=wide, cover_time_ms=2_000)
    tile = _tile(client, landscape)
    assert "poster.jpg" in tile
    assert "tile-cover" not in tile
