"""Issue 4's "done when", through the API only: a creator drafts, schedules and publishes a
post with a library sound; viewers like, favourite into a collection, share (the link's page
carries Open Graph and Twitter tags), watch, and comment with replies and @mentions; the
counters the post API shows are exact before and after the Redis flush."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import timezone

from apps.comments.models import CommentMention
from apps.content import tasks as content_tasks
from apps.content.models import Mention, Post
from apps.engagement import counters
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_post_with_a_library_sound_from_draft_to_a_lively_thread(client_for, anon_client):
    creator = UserFactory(username="creator", country="GB")
    friend, fan, critic = (UserFactory(username=name) for name in ("friend", "fan", "critic"))
    track = LibrarySoundFactory(title="Summer Hit", territories=["GB", "IE"],
                                allowed_uses=["posts"])
    me = client_for(creator)

    # drafts it with a library sound, a hashtag and a mention
    asset = MediaAssetFactory(owner=creator)
    draft = me.post("/api/v1/posts", {
        "asset_id": str(asset.pk), "publish": "draft", "sound_id": str(track.pk),
        "sound_mix": "duck", "caption": "Beach day with @friend #summer",
    }, format="json")
    assert draft.status_code == 201, draft.content
    post_id = draft.json()["id"]
    assert draft.json()["status"] == "draft"
    assert anon_client.get(f"/api/v1/posts/{post_id}").status_code == 404
    assert client_for(fan).post(f"/api/v1/posts/{post_id}/like").status_code == 404

    # schedules it; the beat task publishes it when its time comes, exactly once
    when = timezone.now() + timedelta(hours=2)
    scheduled = me.patch(f"/api/v1/posts/{post_id}", {"publish": when.isoformat()},
                         format="json")
    assert scheduled.json()["status"] == "scheduled"
    assert content_tasks.publish_due_posts() == 0
    Post.objects.filter(pk=int(post_id)).update(scheduled_for=timezone.now())
    assert content_tasks.publish_due_posts() == 1
    assert content_tasks.publish_due_posts() == 0
    shown = anon_client.get(f"/api/v1/posts/{post_id}").json()
    assert shown["status"] == "published"
    assert (shown["sound"]["id"], shown["sound_mix"]) == (str(track.pk), "duck")
    assert shown["hashtags"] == ["summer"]
    assert Mention.objects.filter(post_id=int(post_id), user=friend).exists()

    # viewers like (twice: counted once), favourite into a collection, share, watch
    for person in (fan, critic, friend):
        client = client_for(person)
        assert client.post(f"/api/v1/posts/{post_id}/like").status_code == 200
    assert client_for(fan).post(f"/api/v1/posts/{post_id}/like").status_code == 200
    saved = client_for(fan).post("/api/v1/me/collections", {"name": "Summer"}, format="json")
    assert saved.status_code == 201, saved.content
    favourite = client_for(fan).post(f"/api/v1/posts/{post_id}/favourite",
                                     {"collection_id": saved.json()["id"]}, format="json")
    assert favourite.json()["collection_id"] == saved.json()["id"]
    in_collection = client_for(fan).get(
        f"/api/v1/me/collections/{saved.json()['id']}/posts").json()["results"]
    assert [row["post"]["id"] for row in in_collection] == [post_id]
    share = client_for(critic).post(f"/api/v1/posts/{post_id}/share",
                                    {"channel": "whatsapp"}, format="json")
    assert share.status_code == 201
    assert urlparse(share.json()["url"]).path == f"/p/{post_id}/"
    page = Client().get(urlparse(share.json()["url"]).path)
    assert page.status_code == 200
    html = page.content.decode()
    for tag in ('property="og:title"', 'property="og:url"', 'name="twitter:card"'):
        assert tag in html
    for person in (fan, critic):
        client_for(person).post(f"/api/v1/posts/{post_id}/view", {"watched_ms": 8000},
                                format="json")

    # comments: a thread with a reply, a reply to the reply (an @mention), and a mention
    top = client_for(fan).post(f"/api/v1/posts/{post_id}/comments",
                               {"text": "love this @critic"}, format="json").json()
    reply = me.post(f"/api/v1/posts/{post_id}/comments",
                    {"text": "thank you!", "parent_id": top["id"]}, format="json").json()
    nested = client_for(critic).post(f"/api/v1/posts/{post_id}/comments",
                                     {"text": "agreed", "parent_id": reply["id"]},
                                     format="json")
    assert nested.status_code == 201, nested.content
    assert nested.json()["text"].startswith("@creator ")
    replies = anon_client.get(f"/api/v1/comments/{top['id']}/replies").json()["results"]
    assert [r["id"] for r in replies] == [reply["id"], nested.json()["id"]]
    assert CommentMention.objects.filter(comment_id=int(top["id"]), user=critic).exists()
    assert CommentMention.objects.filter(comment_id=int(nested.json()["id"]),
                                         user=creator).exists()

    # the counters the post API shows are exact, before and after the flush
    expected = {"likes": 3, "comments": 3, "shares": 1, "views": 2, "favourites": 1}
    assert anon_client.get(f"/api/v1/posts/{post_id}").json()["counts"] == expected
    counters.flush()
    post = Post.objects.get(pk=int(post_id))
    assert (post.likes_count, post.comments_count, post.shares_count, post.views_count,
            post.favourites_count) == tuple(expected.values())
    assert anon_client.get(f"/api/v1/posts/{post_id}").json()["counts"] == expected
    listed = anon_client.get("/api/v1/hashtags/summer/posts").json()["results"]
    assert [(row["id"], row["counts"]) for row in listed] == [(post_id, expected)]
