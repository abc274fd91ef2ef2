from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from apps.social import services
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory
from tests.social.helpers import error_of

pytestmark = pytest.mark.django_db

LIST_QUERIES = 2  # the owner (visibility checked in SQL) + one page of rows with relations


def _url(username: str, kind: str) -> str:
    return f"/api/v1/users/{username}/{kind}"


def _usernames(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["username"] for row in response.json()["results"]]


def test_followers_are_listed_newest_first_with_the_viewers_relation(client_for):
    # given: three fans follow the owner in order; the viewer follows fan1, fan2 follows viewer
    owner, viewer = UserFactory(), UserFactory()
    fans = [UserFactory(username=f"fan{i}") for i in range(3)]
    for fan in fans:
        services.follow_create(follower=fan, followee=owner)
    services.follow_create(follower=viewer, followee=fans[1])
    services.follow_create(follower=fans[2], followee=viewer)
    MuteFactory(muter=viewer, muted=fans[0])

    # when
    response = client_for(viewer).get(_url(owner.username, "followers"))

    # then
    assert _usernames(response) == ["fan2", "fan1", "fan0"]
    rows = {row["username"]: row for row in response.json()["results"]}
    assert rows["fan1"]["relation"]["following"] is True
    assert rows["fan2"]["relation"]["follows_you"] is True
    assert rows["fan0"]["relation"]["muted"] is True
    assert rows["fan0"]["id"] == str(fans[0].pk)
    assert set(rows["fan0"]) == {"id", "username", "display_name", "avatar", "is_private",
                                 "is_verified", "relation"}


def test_following_and_friends(api_client):
    # given: owner follows a and b; only b follows back; c follows owner only
    owner = UserFactory()
    a, b, c = (UserFactory(username=name) for name in ("aa", "bb", "cc"))
    services.follow_create(follower=owner, followee=a)
    services.follow_create(follower=owner, followee=b)
    services.follow_create(follower=b, followee=owner)
    services.follow_create(follower=c, followee=owner)

    # then
    assert _usernames(api_client.get(_url(owner.username, "following"))) == ["bb", "aa"]
    assert _usernames(api_client.get(_url(owner.username, "friends"))) == ["bb"]
    assert _usernames(api_client.get(_url(owner.username, "followers"))) == ["cc", "bb"]


def test_your_own_row_says_is_self(client_for):
    owner, viewer = UserFactory(), UserFactory()
    services.follow_create(follower=viewer, followee=owner)

    rows = client_for(viewer).get(_url(owner.username, "followers")).json()["results"]

    assert [row["relation"]["is_self"] for row in rows] == [True]


@pytest.mark.parametrize("kind", ["followers", "following", "friends"])
def test_a_private_accounts_lists_are_for_the_owner_and_approved_followers(
    api_client, client_for, kind
):
    # given
    owner = UserFactory(is_private=True)
    friend, stranger, requester = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=friend, followee=owner)
    FollowFactory(follower=owner, followee=friend)
    services.follow_create(follower=requester, followee=owner)  # pending only

    # then: owner and approved follower see it
    assert len(_usernames(client_for(owner).get(_url(owner.username, kind)))) == 1
    assert len(_usernames(client_for(friend).get(_url(owner.username, kind)))) == 1
    # and nobody else does
    for client in (api_client, client_for(stranger), client_for(requester)):
        response = client.get(_url(owner.username, kind))
        assert response.status_code == 403
        assert error_of(response)["code"] == "private_account"
        assert "results" not in response.json()


@pytest.mark.parametrize("kind", ["followers", "following", "friends"])
@pytest.mark.parametrize("who_blocked", ["viewer", "owner"])
def test_a_block_either_way_makes_the_lists_a_404(client_for, kind, who_blocked):
    viewer, owner = UserFactory(), UserFactory()
    if who_blocked == "viewer":
        BlockFactory(blocker=viewer, blocked=owner)
    else:
        BlockFactory(blocker=owner, blocked=viewer)

    response = client_for(viewer).get(_url(owner.username, kind))

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_rows_leave_out_people_blocked_either_way_with_the_viewer_and_hidden_accounts(client_for):
    # given: five followers of the owner
    owner, viewer = UserFactory(), UserFactory()
    names = ["visible", "viewer_blocked", "blocked_viewer", "deactivated", "deleting"]
    fans = {name: UserFactory(username=name) for name in names}
    for fan in fans.values():
        FollowFactory(follower=fan, followee=owner)
    BlockFactory(blocker=viewer, blocked=fans["viewer_blocked"])
    BlockFactory(blocker=fans["blocked_viewer"], blocked=viewer)
    fans["deactivated"].deactivated_at = timezone.now()
    fans["deactivated"].save(update_fields=["deactivated_at"])
    fans["deleting"].deletion_scheduled_for = timezone.now()
    fans["deleting"].save(update_fields=["deletion_scheduled_for"])

    # then
    assert _usernames(client_for(viewer).get(_url(owner.username, "followers"))) == ["visible"]
    # the owner (no blocks of their own) still sees everyone who is discoverable
    assert sorted(_usernames(client_for(owner).get(_url(owner.username, "followers")))) == [
        "blocked_viewer", "viewer_blocked", "visible"]


def test_lists_of_a_hidden_or_unknown_account_are_a_404(api_client):
    gone = UserFactory(deactivated_at=timezone.now())
    for username in (gone.username, "no-such-user"):
        response = api_client.get(_url(username, "followers"))
        assert response.status_code == 404


def test_cursor_pages_walk_the_whole_list_without_overlap(api_client):
    # given
    owner = UserFactory()
    fans = [UserFactory() for _ in range(7)]
    for fan in fans:
        FollowFactory(follower=fan, followee=owner)

    # when
    seen: list[str] = []
    url: str | None = _url(owner.username, "followers") + "?page_size=3"
    while url:
        body = api_client.get(url).json()
        seen.extend(row["username"] for row in body["results"])
        url = body["next"]

    # then
    assert seen == [fan.username for fan in reversed(fans)]


def test_a_huge_page_size_is_capped_and_a_silly_one_is_refused(api_client):
    owner = UserFactory()
    for _ in range(105):
        FollowFactory(follower=UserFactory(), followee=owner)

    assert len(_usernames(api_client.get(_url(owner.username, "followers")
                                         + "?page_size=1000000"))) == 100
    # The schema documents page_size as a positive integer (tests/contract).
    for silly in ("-3", "abc"):
        response = api_client.get(_url(owner.username, "followers") + f"?page_size={silly}")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"page_size": ["A positive integer."]}


@pytest.mark.parametrize("cursor", [
    "garbage!!",
    "%FF%FE",
    base64.b64encode(b"p=abc").decode(),
    base64.b64encode(b"p=99999999999999999999999999").decode(),
    base64.b64encode(b"o=-1&p=1").decode(),
    base64.b64encode(b"r=x").decode(),
])
def test_a_made_up_cursor_is_a_400_not_a_500(api_client, cursor):
    owner = UserFactory()
    FollowFactory(follower=UserFactory(), followee=owner)

    response = api_client.get(_url(owner.username, "followers"), {"cursor": cursor})

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize("kind", ["followers", "following", "friends"])
def test_a_page_costs_the_same_queries_whatever_its_size(client_for, django_assert_num_queries,
                                                          kind):
    # given: 60 people in a mutual follow with the owner; the viewer follows some of them,
    # some follow the viewer, one is muted, one blocked the viewer
    owner, viewer = UserFactory(), UserFactory()
    people = [UserFactory() for _ in range(60)]
    for i, person in enumerate(people):
        FollowFactory(follower=person, followee=owner)
        FollowFactory(follower=owner, followee=person)
        if i % 2:
            FollowFactory(follower=viewer, followee=person)
        if i % 3:
            FollowFactory(follower=person, followee=viewer)
    MuteFactory(muter=viewer, muted=people[0])
    BlockFactory(blocker=people[1], blocked=viewer)
    client = client_for(viewer)
    url = _url(owner.username, kind)

    # when / then
    with django_assert_num_queries(LIST_QUERIES) as small:
        assert len(_usernames(client.get(url, {"page_size": 5}))) == 5
    with django_assert_num_queries(LIST_QUERIES) as large:
        assert len(_usernames(client.get(url, {"page_size": 50}))) == 50
    assert len(small.captured_queries) == len(large.captured_queries)
