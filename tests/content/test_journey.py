"""The issue's "done when", content side, through the API only: a creator drafts, then
schedules, then publishes a post with a library sound; others find it on the hashtag,
sound and profile pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content import tasks
from apps.content.models import Post
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_draft_then_schedule_then_publish_with_a_library_sound(client_for, api_client):
    creator = UserFactory(username="creator")
    track = LibrarySoundFactory(title="Hit", allowed_uses=["posts"])
    asset = MediaAssetFactory(owner=creator)
    me = client_for(creator)

    # drafts it
    draft = me.post("/api/v1/posts", {"asset_id": str(asset.pk), "publish": "draft",
                                      "caption": "First try #journey", "sound_id": str(track.pk),
                                      "sound_mix": "duck"}, format="json")
    assert draft.status_code == 201, draft.content
    post_id = draft.json()["id"]
    assert api_client.get(f"/api/v1/posts/{post_id}").status_code == 404

    # schedules it, edits the caption
    when = timezone.now() + timedelta(hours=3)
    scheduled = me.patch(f"/api/v1/posts/{post_id}",
                         {"publish": when.isoformat(), "caption": "Out now #journey #hit"},
                         format="json")
    assert scheduled.json()["status"] == "scheduled"
    assert api_client.get("/api/v1/hashtags/journey").json()["posts_count"] == 0

    # beat publishes it when its time comes (simulated by moving the clock on the row)
    Post.objects.filter(pk=int(post_id)).update(scheduled_for=timezone.now())
    assert tasks.publish_due_posts() == 1

    shown = api_client.get(f"/api/v1/posts/{post_id}").json()
    assert shown["status"] == "published"
    assert shown["sound"]["title"] == "Hit"
    assert shown["sound_mix"] == "duck"
    assert shown["hashtags"] == ["journey", "hit"]
    assert [r["id"] for r in api_client.get("/api/v1/hashtags/hit/posts").json()["results"]] \
        == [post_id]
    assert [r["id"] for r in api_client.get(f"/api/v1/sounds/{track.pk}/posts").json()
            ["results"]] == [post_id]
    assert [r["id"] for r in api_client.get("/api/v1/users/creator/posts").json()
            ["results"]] == [post_id]
