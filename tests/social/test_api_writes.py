from __future__ import annotations

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.core.throttles import FollowThrottle
from apps.social import services
from apps.social.models import Block, Follow, FollowRequest, Mute
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, FollowRequestFactory
from tests.social.helpers import assert_counters_match_rows, error_of, graph_snapshot

pytestmark = pytest.mark.django_db


def _user(username: str, action: str) -> str:
    return f"/api/v1/users/{username}/{action}"


# --- follow --------------------------------------------------------------------------------


def test_follow_a_public_account_then_again_then_unfollow(client_for):
    # given
    me, maya = UserFactory(), UserFactory(username="maya")
    client = client_for(me)

    # when / then
    first = client.post(_user("MAYA", "follow"))
    second = client.post(_user("maya", "follow"))
    assert (first.status_code, first.json()) == (200, {"state": "following"})
    assert second.json() == {"state": "following"}
    maya.refresh_from_db()
    assert maya.followers_count == 1

    response = client.delete(_user("maya", "follow"))
    assert response.status_code == 204
    assert client.delete(_user("maya", "follow")).status_code == 204
    maya.refresh_from_db()
    assert maya.followers_count == 0
    assert not Follow.objects.exists()


def test_follow_a_private_account_is_a_request_the_owner_approves(client_for):
    # given
    me, owner = UserFactory(), UserFactory(is_private=True)

    # when: I ask
    response = client_for(me).post(_user(owner.username, "follow"))

    # then
    assert response.json() == {"state": "requested"}
    assert not Follow.objects.exists()

    # and the owner sees and approves it
    listing = client_for(owner).get("/api/v1/me/follow-requests").json()
    [row] = listing["results"]
    assert row["user"]["username"] == me.username
    assert set(row) == {"id", "created_at", "user", "relation"}
    approved = client_for(owner).post(f"/api/v1/me/follow-requests/{row['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["follower"]["id"] == str(me.pk)
    assert Follow.objects.filter(follower=me, followee=owner).exists()
    assert client_for(owner).get("/api/v1/me/follow-requests").json()["results"] == []
    assert_counters_match_rows()


def test_cancel_a_pending_request(client_for):
    me, owner = UserFactory(), UserFactory(is_private=True)
    client_for(me).post(_user(owner.username, "follow"))

    assert client_for(me).delete(_user(owner.username, "follow")).status_code == 204

    assert not FollowRequest.objects.exists()


def test_deny_a_request(client_for):
    me, owner = UserFactory(), UserFactory(is_private=True)
    request = FollowRequestFactory(requester=me, target=owner)

    response = client_for(owner).post(f"/api/v1/me/follow-requests/{request.pk}/deny")

    assert response.status_code == 204
    assert not FollowRequest.objects.exists()
    assert not Follow.objects.exists()


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_other_peoples_request_ids_are_a_404_and_change_nothing(client_for, action):
    # given: a request to owner; mallory and the requester try to answer it
    requester, owner, mallory = UserFactory(), UserFactory(is_private=True), UserFactory()
    request = FollowRequestFactory(requester=requester, target=owner)
    before = graph_snapshot()

    # when / then
    for attacker in (mallory, requester):
        response = client_for(attacker).post(f"/api/v1/me/follow-requests/{request.pk}/{action}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert graph_snapshot() == before


@pytest.mark.parametrize("request_id", ["abc", "-1", "0", "99999999999999999999999", "1.5"])
def test_garbage_request_ids_are_a_404(client_for, request_id):
    response = client_for(UserFactory()).post(f"/api/v1/me/follow-requests/{request_id}/approve")
    assert response.status_code == 404


def test_following_yourself_is_a_clear_400(client_for):
    me = UserFactory()
    before = graph_snapshot()

    response = client_for(me).post(_user(me.username, "follow"))

    assert response.status_code == 400
    assert error_of(response)["code"] == "cannot_follow_self"
    assert graph_snapshot() == before


def test_following_someone_you_blocked_is_a_clear_403(client_for):
    me, them = UserFactory(), UserFactory()
    BlockFactory(blocker=me, blocked=them)
    before = graph_snapshot()

    response = client_for(me).post(_user(them.username, "follow"))

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "blocked"
    assert "unblock" in error["message"].lower()
    assert graph_snapshot() == before


def test_following_someone_who_blocked_you_is_a_404_as_if_they_did_not_exist(client_for):
    me, them = UserFactory(), UserFactory()
    BlockFactory(blocker=them, blocked=me)
    before = graph_snapshot()

    for response in (client_for(me).post(_user(them.username, "follow")),
                     client_for(me).post(_user(them.username, "mute")),
                     client_for(me).get(f"/api/v1/users/{them.username}")):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert graph_snapshot() == before


@pytest.mark.parametrize("state", [{"deactivated_at": timezone.now()},
                                   {"deletion_scheduled_for": timezone.now()},
                                   {"is_active": False}])
@pytest.mark.parametrize("action", ["follow", "block", "mute"])
def test_hidden_accounts_cannot_be_followed_blocked_or_muted(client_for, state, action):
    me, gone = UserFactory(), UserFactory(**state)
    before = graph_snapshot()

    response = client_for(me).post(_user(gone.username, action))

    assert response.status_code == 404
    assert graph_snapshot() == before


def test_unknown_usernames_are_a_404_for_every_write(client_for):
    client = client_for(UserFactory())
    before = graph_snapshot()
    for method, url in [("post", _user("nobody", "follow")), ("delete", _user("nobody", "follow")),
                        ("post", _user("nobody", "block")), ("delete", _user("nobody", "block")),
                        ("post", _user("nobody", "mute")), ("delete", _user("nobody", "mute")),
                        ("delete", "/api/v1/me/followers/nobody")]:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    assert graph_snapshot() == before


def test_malformed_json_is_a_400_and_changes_nothing(client_for):
    me, them = UserFactory(), UserFactory(is_private=True)
    request = FollowRequestFactory(target=me)
    before = graph_snapshot()
    client = client_for(me)

    for url in (_user(them.username, "follow"), _user(them.username, "block"),
                _user(them.username, "mute"), f"/api/v1/me/follow-requests/{request.pk}/approve"):
        response = client.post(url, data=b'{"oops": ', content_type="application/json")
        assert response.status_code == 400, url
        assert error_of(response)["code"] == "parse_error"
    assert graph_snapshot() == before


# --- anonymous callers ---------------------------------------------------------------------


def test_unauthenticated_writes_and_me_lists_are_a_401_and_change_nothing(api_client):
    # given
    owner = UserFactory(is_private=True)
    request = FollowRequestFactory(target=owner)
    before = graph_snapshot()

    # when / then
    for method, url in [
        ("post", _user(owner.username, "follow")), ("delete", _user(owner.username, "follow")),
        ("post", _user(owner.username, "block")), ("delete", _user(owner.username, "block")),
        ("post", _user(owner.username, "mute")), ("delete", _user(owner.username, "mute")),
        ("post", f"/api/v1/me/follow-requests/{request.pk}/approve"),
        ("post", f"/api/v1/me/follow-requests/{request.pk}/deny"),
        ("post", "/api/v1/me/follow-requests/approve-all"),
        ("delete", f"/api/v1/me/followers/{request.requester.username}"),
        ("get", "/api/v1/me/follow-requests"), ("get", "/api/v1/me/blocks"),
        ("get", "/api/v1/me/mutes"),
    ]:
        response = getattr(api_client, method)(url)
        assert response.status_code == 401, url
        assert error_of(response)["code"] == "not_authenticated"
    assert graph_snapshot() == before


# --- remove follower ------------------------------------------------------------------------


def test_remove_a_follower(client_for):
    me, fan = UserFactory(), UserFactory()
    services.follow_create(follower=fan, followee=me)

    response = client_for(me).delete(f"/api/v1/me/followers/{fan.username}")

    assert response.status_code == 204
    assert not Follow.objects.exists()
    assert_counters_match_rows()


def test_removing_a_follower_only_touches_your_own_followers(client_for):
    # given: fan follows victim; mallory tries to remove fan from *her* followers
    victim, fan, mallory = UserFactory(), UserFactory(), UserFactory()
    services.follow_create(follower=fan, followee=victim)
    before = graph_snapshot()

    response = client_for(mallory).delete(f"/api/v1/me/followers/{fan.username}")

    assert response.status_code == 204  # idempotent: fan was never her follower
    assert graph_snapshot() == before


# --- blocks and mutes -------------------------------------------------------------------------


def test_block_through_the_api_removes_follows_both_ways_and_lists_it(client_for):
    # given
    me, them = UserFactory(), UserFactory()
    services.follow_create(follower=me, followee=them)
    services.follow_create(follower=them, followee=me)

    # when
    response = client_for(me).post(_user(them.username, "block"))

    # then
    assert response.status_code == 204
    assert not Follow.objects.exists()
    assert_counters_match_rows()
    blocks = client_for(me).get("/api/v1/me/blocks").json()["results"]
    assert [row["user"]["username"] for row in blocks] == [them.username]
    assert client_for(them).get("/api/v1/me/blocks").json()["results"] == []
    # and neither sees the other's profile any more
    assert client_for(me).get(f"/api/v1/users/{them.username}").status_code == 404
    assert client_for(them).get(f"/api/v1/users/{me.username}").status_code == 404


def test_blocking_back_and_unblocking_work_whatever_the_other_side_did(client_for):
    me, them = UserFactory(), UserFactory()
    BlockFactory(blocker=them, blocked=me)

    assert client_for(me).post(_user(them.username, "block")).status_code == 204
    assert Block.objects.count() == 2
    assert client_for(me).delete(_user(them.username, "block")).status_code == 204
    assert client_for(me).delete(_user(them.username, "block")).status_code == 204
    assert list(Block.objects.values_list("blocker_id", flat=True)) == [them.pk]


def test_blocking_or_muting_yourself_is_a_400(client_for):
    me = UserFactory()
    before = graph_snapshot()

    block = client_for(me).post(_user(me.username, "block"))
    mute = client_for(me).post(_user(me.username, "mute"))

    assert (block.status_code, error_of(block)["code"]) == (400, "cannot_block_self")
    assert (mute.status_code, error_of(mute)["code"]) == (400, "cannot_mute_self")
    assert graph_snapshot() == before


def test_mute_and_unmute_and_the_muted_person_is_not_told(client_for):
    # given
    me, them = UserFactory(), UserFactory()
    services.follow_create(follower=them, followee=me)
    their_view = client_for(them).get(f"/api/v1/users/{me.username}").json()

    # when
    assert client_for(me).post(_user(them.username, "mute")).status_code == 204
    assert client_for(me).post(_user(them.username, "mute")).status_code == 204

    # then
    assert Mute.objects.filter(muter=me, muted=them).count() == 1
    assert [row["user"]["username"]
            for row in client_for(me).get("/api/v1/me/mutes").json()["results"]] == [
        them.username]
    assert client_for(them).get("/api/v1/me/mutes").json()["results"] == []
    assert client_for(them).get(f"/api/v1/users/{me.username}").json() == their_view
    assert Follow.objects.filter(follower=them, followee=me).exists()
    assert client_for(me).delete(_user(them.username, "mute")).status_code == 204
    assert not Mute.objects.exists()


# --- throttling ---------------------------------------------------------------------------


def test_follow_has_its_own_throttle_in_redis(client_for, monkeypatch):
    # given: a follow budget of 3 per hour
    monkeypatch.setattr(FollowThrottle, "rate", "3/hour", raising=False)
    me = UserFactory()
    targets = [UserFactory() for _ in range(4)]
    client = client_for(me)

    # when
    statuses = [client.post(_user(t.username, "follow")).status_code for t in targets]

    # then: the fourth is refused and made no follow
    assert statuses == [200, 200, 200, 429]
    response = client.post(_user(targets[3].username, "follow"))
    assert error_of(response)["code"] == "throttled"
    assert not Follow.objects.filter(follower=me, followee=targets[3]).exists()
    me.refresh_from_db()
    assert me.following_count == 3
    # reads are not throttled by it
    assert client.get(f"/api/v1/users/{targets[3].username}").status_code == 200


def test_a_counter_never_moves_for_a_refused_follow(client_for):
    me = UserFactory()
    them = UserFactory()
    BlockFactory(blocker=them, blocked=me)
    FollowFactory(follower=UserFactory(), followee=them)

    client_for(me).post(_user(them.username, "follow"))

    assert User.objects.get(pk=them.pk).followers_count == 0  # untouched (not recounted)


def test_approve_all_turns_every_pending_request_into_a_follow(client_for):
    # given: three requests to owner and one to someone else
    owner = UserFactory(is_private=True)
    for _ in range(3):
        FollowRequestFactory(target=owner)
    other = FollowRequestFactory()

    # when
    response = client_for(owner).post("/api/v1/me/follow-requests/approve-all")

    # then
    assert (response.status_code, response.json()) == (200, {"approved": 3})
    assert Follow.objects.filter(followee=owner).count() == 3
    assert list(FollowRequest.objects.all()) == [other]
    assert_counters_match_rows()
    assert client_for(owner).post("/api/v1/me/follow-requests/approve-all").json() == {
        "approved": 0}


def test_going_public_approves_the_pending_requests(client_for):
    # given: a private account with two pending requests
    owner = UserFactory(is_private=True)
    fans = [UserFactory(), UserFactory()]
    for fan in fans:
        assert client_for(fan).post(_user(owner.username, "follow")).json() == {
            "state": "requested"
        }

    # when: the owner switches the account to public through the profile API (accounts)
    response = client_for(owner).patch("/api/v1/me", {"is_private": False}, format="json")

    # then: social's made-public hook turned the requests into follows, counters included
    assert response.status_code == 200
    assert not FollowRequest.objects.exists()
    assert Follow.objects.filter(followee=owner).count() == 2
    owner.refresh_from_db()
    assert owner.followers_count == 2
    assert_counters_match_rows()


def test_going_private_keeps_existing_followers(client_for):
    owner, fan = UserFactory(), UserFactory()
    client_for(fan).post(_user(owner.username, "follow"))

    client_for(owner).patch("/api/v1/me", {"is_private": True}, format="json")

    assert Follow.objects.filter(followee=owner, follower=fan).exists()
