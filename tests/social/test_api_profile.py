from __future__ import annotations

import pytest
from django.utils import timezone

from apps.social import services
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowRequestFactory, MuteFactory
from tests.social.helpers import error_of

pytestmark = pytest.mark.django_db

PROFILE_QUERIES = 1  # the user row, its counters and the viewer's relation: one SELECT


def _url(username: str) -> str:
    return f"/api/v1/users/{username}"


def test_profile_shows_the_public_fields_with_ids_as_strings(api_client):
    # given
    maya = UserFactory(username="maya", display_name="Maya", bio="Dancer.",
                       links=["https://example.com"], is_verified=True,
                       avatar_sizes={"48": "avatars/48/1-ab.webp"})

    # when
    response = api_client.get(_url("maya"))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": str(maya.pk),
        "username": "maya",
        "display_name": "Maya",
        "bio": "Dancer.",
        "links": ["https://example.com"],
        "avatar": {"48": "/media/avatars/48/1-ab.webp"},
        "is_private": False,
        "is_verified": True,
        "followers_count": 0,
        "following_count": 0,
        "relation": {"following": False, "requested": False, "follows_you": False,
                     "blocked_by_you": False, "muted": False, "is_self": False,
                     "subscribed": False, "subscribes_to_you": False},
        "is_live": False,  # the ring on the avatar (tests/live/test_rings.py)
        "live_id": None,
    }
    assert "email" not in body
    assert "date_of_birth" not in body


def test_profile_lookup_is_case_insensitive(api_client):
    UserFactory(username="Maya")
    assert api_client.get(_url("mAYA")).json()["username"] == "Maya"


def test_profile_shows_the_viewers_relation(client_for):
    # given: viewer follows maya, maya follows viewer, viewer muted maya
    viewer, maya = UserFactory(), UserFactory()
    services.follow_create(follower=viewer, followee=maya)
    services.follow_create(follower=maya, followee=viewer)
    MuteFactory(muter=viewer, muted=maya)

    # when
    body = client_for(viewer).get(_url(maya.username)).json()

    # then
    assert body["relation"] == {"following": True, "requested": False, "follows_you": True,
                                "blocked_by_you": False, "muted": True, "is_self": False,
                                "subscribed": False, "subscribes_to_you": False}
    assert (body["followers_count"], body["following_count"]) == (1, 1)


def test_a_pending_request_shows_as_requested(client_for):
    viewer, private = UserFactory(), UserFactory(is_private=True)
    FollowRequestFactory(requester=viewer, target=private)

    relation = client_for(viewer).get(_url(private.username)).json()["relation"]

    assert relation["requested"]
    assert not relation["following"]


def test_the_muted_person_sees_nothing_different(client_for):
    # given
    muter, muted = UserFactory(), UserFactory()
    before = client_for(muted).get(_url(muter.username)).json()

    # when
    MuteFactory(muter=muter, muted=muted)

    # then
    assert client_for(muted).get(_url(muter.username)).json() == before


def test_your_own_profile_says_is_self(client_for):
    me = UserFactory()
    assert client_for(me).get(_url(me.username)).json()["relation"]["is_self"] is True


@pytest.mark.parametrize("state", [
    {"is_active": False},
    {"deactivated_at": timezone.now()},
    {"deletion_scheduled_for": timezone.now()},
])
def test_accounts_that_are_not_discoverable_do_not_exist(api_client, client_for, state):
    gone = UserFactory(**state)
    for client in (api_client, client_for(UserFactory())):
        response = client.get(_url(gone.username))
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("username", ["nobody", "a" * 500, "x%00y", "%F0%9F%92%A9", "..",
                                      "maya%20"])
def test_unknown_or_garbage_usernames_are_a_404_not_a_500(api_client, username):
    UserFactory(username="maya")
    response = api_client.get(_url(username))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("who_blocked", ["viewer", "owner"])
def test_a_block_either_way_hides_the_profile_as_if_it_did_not_exist(client_for, who_blocked):
    # given
    viewer, owner = UserFactory(), UserFactory()
    if who_blocked == "viewer":
        BlockFactory(blocker=viewer, blocked=owner)
    else:
        BlockFactory(blocker=owner, blocked=viewer)

    # when
    response = client_for(viewer).get(_url(owner.username))
    unknown = client_for(viewer).get(_url("no-such-user"))

    # then: indistinguishable from an unknown username
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()


def test_a_private_profile_is_visible_but_says_it_is_private(api_client):
    private = UserFactory(is_private=True)
    body = api_client.get(_url(private.username)).json()
    assert body["is_private"] is True


@pytest.mark.parametrize("anonymous", [True, False])
def test_the_profile_endpoint_costs_one_query(api_client, client_for,
                                              django_assert_num_queries, anonymous):
    # given: a busy graph around both people
    viewer, owner = UserFactory(), UserFactory()
    for _ in range(5):
        fan = UserFactory()
        services.follow_create(follower=fan, followee=owner)
        services.follow_create(follower=viewer, followee=fan)
    services.follow_create(follower=viewer, followee=owner)
    BlockFactory(blocker=viewer, blocked=UserFactory())
    client = api_client if anonymous else client_for(viewer)

    # when / then
    with django_assert_num_queries(PROFILE_QUERIES):
        response = client.get(_url(owner.username.upper()))
    assert response.status_code == 200
    assert response.json()["relation"]["following"] is (not anonymous)
