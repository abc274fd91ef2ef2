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


def test_changelist_rows_do_not_query_per_row(staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_the_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.get("/django-admin/social/follow/").status_code == 200
        return len(ctx)

    services.follow_create(follower=UserFactory(), followee=UserFactory())
    queries_for_the_page()  # the session's first use records it once
    with_one = queries_for_the_page()
    for _ in range(30):
        services.follow_create(follower=UserFactory(), followee=UserFactory())
    # the count is per page (session, sidebar singletons, the page), never per row
    assert queries_for_the_page() == with_one
