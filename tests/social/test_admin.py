from __future__ import annotations

import pytest
from django.test import Client

from apps.social import services
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowRequestFactory, MuteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["follow", "followrequest", "block", "mute"])
def test_graph_changelists_search_by_username_and_filter(staff_client, model):
    # given
    maya, leo = UserFactory(username="maya"), UserFactory(username="leo")
    services.follow_create(follower=maya, followee=leo)
    FollowRequestFactory(requester=maya)
    BlockFactory(blocker=maya)
    MuteFactory(muter=maya)
    url = f"/django-admin/social/{model}/"

    # when
    page = staff_client.get(url)
    found = staff_client.get(url, {"q": "MAYA"})
    missing = staff_client.get(url, {"q": "nobody"})

    # then
    assert page.status_code == found.status_code == missing.status_code == 200
    assert b"maya" in found.content
    assert b"0 results" in missing.content or b"maya" not in missing.content


def test_changelist_rows_do_not_query_per_row(staff_client, django_assert_max_num_queries):
    for _ in range(30):
        services.follow_create(follower=UserFactory(), followee=UserFactory())
    # 13: the session is read from PostgreSQL (SESSION_ENGINE "db": signed-in requests must
    # not need Redis, docs/architecture.md "When Redis fails"); the rest is per page.
    with django_assert_max_num_queries(13):
        assert staff_client.get("/django-admin/social/follow/").status_code == 200
