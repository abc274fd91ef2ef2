"""The admin lists for engagement and comments rows load, search and filter."""

from __future__ import annotations

import pytest

from apps.comments import services as comment_services
from apps.engagement import services
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["engagement/like", "engagement/collection",
                                   "engagement/favourite", "engagement/share",
                                   "comments/comment", "comments/commentlike",
                                   "comments/commentfilter", "comments/commenterban"])
def test_admin_changelists_load_with_search_and_filters(client, model):
    admin = UserFactory(is_staff=True, is_superuser=True)
    fan = UserFactory(username="fanuser")
    post = PublishedPostFactory()
    services.like_create(user=fan, post=post)
    services.favourite_create(user=fan, post=post,
                              collection_id=services.collection_create(owner=fan, name="x").pk)
    services.share_create(user=fan, post=post, channel="sms")
    comment = comment_services.comment_create(author=fan, post=post, text="hello")
    comment_services.comment_like_create(user=post.author, comment=comment)
    comment_services.comment_filter_create(creator=post.author, keyword="spam")
    comment_services.commenter_ban_create(creator=post.author, user=UserFactory())
    client.force_login(admin)

    assert client.get(f"/django-admin/{model}/").status_code == 200
    assert client.get(f"/django-admin/{model}/", {"q": "fanuser"}).status_code == 200
