"""/studio/captions/<post id> (issue 16, the caption editor's page): its author gets the
editor with the video's upload and length for the page's script; a signed-out visitor is
sent to log in; someone else's post (visible to them or not), a missing one and a removed
one are a 404; the post page offers its author the way there."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.content.models import Post
from tests.content.factories import PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_only_the_author_reaches_the_caption_editor() -> None:
    post = PostFactory()
    url = f"/studio/captions/{post.pk}"
    page = _client(post.author).get(url)
    assert page.status_code == 200
    found = re.search(r'<script id="captions-config" type="application/json">(.*?)</script>',
                      page.content.decode())
    assert found
    config = json.loads(found.group(1))
    assert config["asset_id"] == str(post.asset_id)
    assert config["post_id"] == str(post.pk)
    assert config["duration_ms"] == post.asset.duration_ms
    assert page["Cache-Control"] == "private, no-cache"
    # the post's page links its author there, and nobody else
    assert url in _client(post.author).get(f"/p/{post.pk}/").content.decode()
    assert url not in _client(UserFactory()).get(f"/p/{post.pk}/").content.decode()

    assert _client(UserFactory()).get(url).status_code == 404  # visible, not theirs
    signed_out = _client(None).get(url)
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith("/accounts/login/")
    assert _client(post.author).get("/studio/captions/99999999").status_code == 404
    assert _client(post.author).get("/studio/captions/nonsense").status_code == 404
    Post.objects.filter(pk=post.pk).update(status=Post.Status.REMOVED)
    assert _client(post.author).get(url).status_code == 404
