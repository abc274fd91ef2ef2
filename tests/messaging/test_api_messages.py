"""The messages API: sending (and retrying by client_id), pages and resume, the requests
flow, edit window, unsend, delete for me, reactions, read state, folders and flags, and
bad input (malformed JSON, wrong types, huge bodies, other people's ids, unknown posts)
always a 4xx in the error shape."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.messaging import services
from apps.messaging.models import Conversation, Message, Participant
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.messaging.helpers import client_for, direct, friends, send

pytestmark = pytest.mark.django_db


def post_message(client: APIClient, conversation: Conversation | str, **data: Any) -> Any:
    cid = conversation.pk if isinstance(conversation, Conversation) else conversation
    data.setdefault("client_id", str(uuid.uuid4()))
    data.setdefault("kind", "text")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/api/v1/conversations/{cid}/messages", data, format="json")


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    assert body["error"]["message"]
    return dict(body["error"])


def test_start_send_retry_and_read_through_the_api() -> None:
    a, b = UserFactory(), UserFactory()
    friends(a, b)
    created = client_for(a).post("/api/v1/conversations",
                                 {"kind": "direct", "user_id": str(b.pk)}, format="json")
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    again = client_for(b).post("/api/v1/conversations",
                               {"kind": "direct", "user_id": b.pk and str(a.pk)}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == cid
    client_id = str(uuid.uuid4())
    first = post_message(client_for(a), cid, client_id=client_id, body="hello")
    assert first.status_code == 201, first.content
    retry = post_message(client_for(a), cid, client_id=client_id, body="hello")
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    message = first.json()
    assert message["seq"] == 1
    assert message["sender"]["id"] == str(a.pk)
    assert message["client_id"] == client_id
    b_client = client_for(b)
    assert b_client.get("/api/v1/messaging/unread").json() == {"unread": 1, "requests": 0}
    page = b_client.get(f"/api/v1/conversations/{cid}/messages").json()
    assert [m["body"] for m in page["results"]] == ["hello"]
    read = b_client.post(f"/api/v1/conversations/{cid}/read", {"seq": 1}, format="json")
    assert read.json()["unread_count"] == 0
    assert b_client.get("/api/v1/messaging/unread").json()["unread"] == 0


def test_pages_scroll_up_and_resume_after_a_change_seq() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    sent = [send(a, conversation, f"m{i}") for i in range(1, 8)]
    client = client_for(b)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    first = client.get(f"{url}?limit=3").json()
    assert [m["seq"] for m in first["results"]] == [7, 6, 5]
    assert first["next_before"] == 5
    second = client.get(f"{url}?limit=3&before=5").json()
    assert [m["seq"] for m in second["results"]] == [4, 3, 2]
    last = client.get(f"{url}?limit=3&before=2").json()
    assert [m["seq"] for m in last["results"]] == [1]
    assert last["next_before"] is None
    client_for(a).patch(f"{url}/{sent[0].pk}", {"body": "m1!"}, format="json")
    resumed = client.get(f"{url}?after=7").json()
    assert [(m["id"], m["body"], m["change_seq"]) for m in resumed["results"]] == [
        (str(sent[0].pk), "m1!", 8)]
    assert resumed["next_after"] is None


def test_requests_flow_accept_and_decline() -> None:
    stranger, me, other = UserFactory(), UserFactory(), UserFactory()
    cid = client_for(stranger).post("/api/v1/conversations",
                                    {"kind": "direct", "user_id": str(me.pk)},
                                    format="json").json()["id"]
    assert post_message(client_for(stranger), cid, body="hi, saw your video").status_code == 201
    mine = client_for(me)
    assert mine.get("/api/v1/conversations").json()["results"] == []
    requests = mine.get("/api/v1/conversations?folder=requests").json()["results"]
    assert [(c["id"], c["request"]) for c in requests] == [(cid, True)]
    assert mine.get("/api/v1/messaging/unread").json() == {"unread": 0, "requests": 1}
    assert post_message(client_for(stranger), cid, body="one more").status_code == 201
    refused = post_message(client_for(stranger), cid, body="and more")
    error = assert_error(refused, 403)
    assert error["code"] == "request_limit"
    accepted = mine.post(f"/api/v1/conversations/{cid}/accept")
    assert accepted.json()["request"] is False
    assert [c["id"] for c in mine.get("/api/v1/conversations").json()["results"]] == [cid]
    assert post_message(client_for(stranger), cid, body="thanks!").status_code == 201

    cid2 = client_for(other).post("/api/v1/conversations",
                                  {"kind": "direct", "user_id": str(me.pk)},
                                  format="json").json()["id"]
    post_message(client_for(other), cid2, body="buy my stuff")
    assert mine.post(f"/api/v1/conversations/{cid2}/decline").status_code == 204
    assert mine.get("/api/v1/conversations?folder=requests").json()["results"] == []
    assert mine.get(f"/api/v1/conversations/{cid2}/messages").json()["results"] == []
    assert_error(mine.post(f"/api/v1/conversations/{cid}/decline"), 400)  # not a request


def test_edit_window_unsend_hide_and_reactions() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    message = send(a, conversation, "typo")
    edited = client_for(a).patch(f"{url}/{message.pk}", {"body": "fixed"}, format="json")
    assert edited.json()["body"] == "fixed"
    assert edited.json()["edited_at"] is not None
    assert_error(client_for(b).patch(f"{url}/{message.pk}", {"body": "mine now"},
                                     format="json"), 403)
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=16))
    late = assert_error(client_for(a).patch(f"{url}/{message.pk}", {"body": "later"},
                                            format="json"), 403)
    assert late["code"] == "edit_window_closed"
    assert "15 minutes" in late["message"]

    reacted = client_for(b).put(f"{url}/{message.pk}/reaction", {"emoji": "❤️"},
                                format="json").json()
    assert reacted["reactions"] == [{"emoji": "❤️", "count": 1, "mine": True}]
    seen_by_a = client_for(a).get(f"{url}/{message.pk}").json()
    assert seen_by_a["reactions"] == [{"emoji": "❤️", "count": 1, "mine": False}]
    assert client_for(b).delete(f"{url}/{message.pk}/reaction").json()["reactions"] == []

    assert_error(client_for(b).delete(f"{url}/{message.pk}"), 403)
    unsent = client_for(a).delete(f"{url}/{message.pk}").json()
    assert unsent["unsent"] is True
    assert unsent["body"] == ""
    assert client_for(b).get(f"{url}/{message.pk}").json()["state"] == "unsent"

    other = send(b, conversation, "only for me to forget")
    assert client_for(a).post(f"{url}/{other.pk}/hide").status_code == 204
    assert str(other.pk) not in [m["id"] for m in client_for(a).get(url).json()["results"]]
    assert str(other.pk) in [m["id"] for m in client_for(b).get(url).json()["results"]]
    assert_error(client_for(a).get(f"{url}/{other.pk}"), 404)


def test_groups_members_roles_and_flags() -> None:
    admin, m1, m2 = UserFactory(), UserFactory(), UserFactory()
    friends(admin, m1)
    friends(admin, m2)
    created = client_for(admin).post("/api/v1/conversations", {
        "kind": "group", "member_ids": [str(m1.pk)], "name": "Weekend"}, format="json")
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    base = f"/api/v1/conversations/{cid}"
    assert_error(client_for(m1).post(f"{base}/members", {"user_ids": [str(m2.pk)]},
                                     format="json"), 403)
    members = client_for(admin).post(f"{base}/members", {"user_ids": [str(m2.pk)]},
                                     format="json").json()
    assert {m["id"] for m in members} == {str(admin.pk), str(m1.pk), str(m2.pk)}
    role = client_for(admin).patch(f"{base}/members/{m1.pk}", {"role": "admin"},
                                   format="json")
    assert role.json()["role"] == "admin"
    assert client_for(m1).patch(base, {"name": "Trip"}, format="json").json()["name"] == "Trip"
    assert client_for(m1).delete(f"{base}/members/{m2.pk}").status_code == 204
    assert_error(client_for(m2).get(base), 404)
    c = client_for(m1)
    assert c.post(f"{base}/pin").json()["pinned"] is True
    assert c.post(f"{base}/mute").json()["muted_until"] is not None
    assert c.delete(f"{base}/mute").json()["muted_until"] is None
    assert c.post(f"{base}/archive").json()["archived"] is True
    assert [x["id"] for x in c.get("/api/v1/conversations?folder=archived").json()["results"]
            ] == [cid]
    assert c.delete(f"{base}/archive").json()["archived"] is False
    assert c.post(f"{base}/leave").status_code == 204
    assert Participant.objects.get(conversation_id=cid, user=m1).state == "left"
    system = [m["system"]["event"] for m in client_for(admin).get(
        f"{base}/messages").json()["results"] if m["kind"] == "system"]
    assert system == ["left", "removed", "renamed", "role", "added", "created"]


def test_settings_round_trip() -> None:
    me = UserFactory()
    client = client_for(me)
    assert client.get("/api/v1/me/messaging-settings").json() == {
        "who_can_message": "everyone", "read_receipts": True}
    changed = client.patch("/api/v1/me/messaging-settings",
                           {"who_can_message": "friends", "read_receipts": False},
                           format="json")
    assert changed.json() == {"who_can_message": "friends", "read_receipts": False}
    assert_error(client.patch("/api/v1/me/messaging-settings",
                              {"who_can_message": "martians"}, format="json"), 400)


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture
def pair() -> tuple[User, User, Conversation]:
    a, b = UserFactory(), UserFactory()
    return a, b, direct(a, b)


@pytest.mark.parametrize("data", [
    {"kind": "text", "body": "no client id"},
    {"client_id": "", "kind": "text", "body": "x"},
    {"client_id": "x" * 65, "kind": "text", "body": "x"},
    {"client_id": ["a"], "kind": "text", "body": "x"},
    {"client_id": "c", "kind": "system", "body": "x"},
    {"client_id": "c", "kind": "spaceship", "body": "x"},
    {"client_id": "c", "kind": "text", "body": 12},
    {"client_id": "c", "kind": "text", "body": {"a": 1}},
    {"client_id": "c", "kind": "text", "body": ""},
    {"client_id": "c", "kind": "text", "body": "   "},
    {"client_id": "c", "kind": "text", "body": "x" * 4001},
    {"client_id": "c", "kind": "text", "body": "nul \x00 byte"},
    {"client_id": "c", "kind": "post"},
    {"client_id": "c", "kind": "post", "shared_post_id": "not-an-id"},
    {"client_id": "c", "kind": "post", "shared_post_id": [1]},
    {"client_id": "c", "kind": "text", "body": "x", "reply_to_id": "-1"},
])
def test_bad_send_input_is_a_4xx_in_the_error_shape(pair: tuple[User, User, Conversation],
                                                    data: dict[str, Any]) -> None:
    a, _, conversation = pair
    response = client_for(a).post(f"/api/v1/conversations/{conversation.pk}/messages", data,
                                  format="json")
    assert 400 <= response.status_code < 500, response.content
    assert_error(response, response.status_code)
    assert not Message.objects.filter(conversation=conversation).exists()


def test_malformed_json_and_huge_bodies(pair: tuple[User, User, Conversation]) -> None:
    a, _, conversation = pair
    client = client_for(a)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    assert_error(client.post(url, "{not json", content_type="application/json"), 400)
    assert_error(client.post(url, "[1, 2]", content_type="application/json"), 400)
    huge = '{"client_id": "c", "kind": "text", "body": "' + "x" * 11_000_000 + '"}'
    assert_error(client.post(url, huge, content_type="application/json"), 413)
    deep = "[" * 200 + "]" * 200
    assert_error(client.post(url, deep, content_type="application/json"), 400)
    for query in ("before=abc", "before=0", "after=-1", "limit=0", "limit=x",
                  "before=3&after=1", "after=99999999999999999999999"):
        assert_error(client.get(f"{url}?{query}"), 400)
    assert_error(client.get("/api/v1/conversations?folder=spam"), 400)
    assert_error(client.get("/api/v1/conversations?cursor=garbage"), 400)
    assert_error(client.post(f"/api/v1/conversations/{conversation.pk}/read",
                             {"seq": "lots"}, format="json"), 400)
    assert_error(client.post(f"/api/v1/conversations/{conversation.pk}/pin",
                             "[1]", content_type="application/json"), 400)


def test_other_peoples_ids_and_unknown_posts_are_404(pair: tuple[User, User, Conversation]
                                                     ) -> None:
    a, b, conversation = pair
    c, d = UserFactory(), UserFactory()
    elsewhere = direct(c, d)
    foreign = send(c, elsewhere, "not yours")
    client = client_for(a)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    # a message of another conversation, by id, through this one
    assert_error(client.get(f"{url}/{foreign.pk}"), 404)
    assert_error(client.patch(f"{url}/{foreign.pk}", {"body": "x"}, format="json"), 404)
    assert_error(client.delete(f"{url}/{foreign.pk}"), 404)
    assert_error(client.put(f"{url}/{foreign.pk}/reaction", {"emoji": "x"}, format="json"), 404)
    assert_error(post_message(client, conversation, body="re", reply_to_id=str(foreign.pk)), 404)
    # posts that do not exist or that the sender may not see
    assert_error(post_message(client, conversation, kind="post",
                              shared_post_id=str(1 << 50)), 404)
    private = PublishedPostFactory(author=c, visibility=Post.Visibility.PRIVATE)
    assert_error(post_message(client, conversation, kind="post",
                              shared_post_id=str(private.pk)), 404)
    assert_error(post_message(client, conversation, kind="profile",
                              shared_user_id=str(1 << 50)), 404)
    assert_error(post_message(client, conversation, kind="media", asset_id=str(1 << 50)), 404)
    # someone else's conversation, and users that do not exist
    assert_error(post_message(client, elsewhere, body="hi"), 404)
    assert_error(client.post("/api/v1/conversations", {"kind": "direct",
                                                       "user_id": str(1 << 50)},
                             format="json"), 404)
    assert_error(client.post("/api/v1/conversations", {"kind": "group",
                                                       "member_ids": [str(b.pk), "x"]},
                             format="json"), 404)
    assert_error(client.post("/api/v1/conversations", {"kind": "direct",
                                                       "user_id": str(a.pk)},
                             format="json"), 400)
    assert_error(client.post("/api/v1/conversations", {"kind": "group", "member_ids": "x"},
                             format="json"), 400)
    assert not Message.objects.filter(conversation=conversation).exists()


def test_list_endpoints_do_not_grow_queries_with_page_size() -> None:
    me = UserFactory()
    group_owner = UserFactory()
    friends(me, group_owner)
    for i in range(8):
        other = UserFactory()
        conversation = direct(other, me)
        post = PublishedPostFactory(author=other)
        send(other, conversation, f"hi {i} @{me.username}")
        send(other, conversation, "", kind="post", shared_post_id=post.pk)
    conversation = direct(group_owner, me, as_friends=False)
    sent = [send(group_owner, conversation, f"m{i}") for i in range(10)]
    send(me, conversation, "reply", reply_to_id=sent[0].pk)
    client = client_for(me)
    for url in ("/api/v1/conversations?limit={n}",
                f"/api/v1/conversations/{conversation.pk}/messages?limit={{n}}"):
        counts = []
        for n in (2, 9):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url.format(n=n))
            assert response.status_code == 200
            assert len(response.json()["results"]) >= n
            counts.append(len(queries))
        assert counts[0] == counts[1], (url, counts)


def test_sends_have_their_own_budget_refused_in_the_error_shape(
        monkeypatch: pytest.MonkeyPatch, pair: tuple[User, User, Conversation]) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    from apps.core.throttles import MessageSendThrottle

    a, _, conversation = pair
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, MessageSendThrottle.scope, "3/min")
    client = client_for(a)
    assert [post_message(client, conversation, body=f"{i}").status_code
            for i in range(3)] == [201, 201, 201]
    error = assert_error(post_message(client, conversation, body="too fast"), 429)
    assert error["code"] == "throttled"
    # reading and other writes are not spent by the send budget
    assert client.get(f"/api/v1/conversations/{conversation.pk}/messages").status_code == 200
    assert client.post(f"/api/v1/conversations/{conversation.pk}/pin").status_code == 200


def test_a_muted_conversation_leaves_the_badge_until_the_mute_ends(
        pair: tuple[User, User, Conversation]) -> None:
    a, b, conversation = pair
    send(a, conversation, "psst")
    client = client_for(b)
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    client.post(f"/api/v1/conversations/{conversation.pk}/mute", {"until": future},
                format="json")
    assert client.get("/api/v1/messaging/unread").json()["unread"] == 0
    Participant.objects.filter(conversation=conversation, user=b).update(
        muted_until=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/messaging/unread").json()["unread"] == 1


def test_the_conversation_list_pins_first_then_pages_by_activity_without_repeats() -> None:
    me = UserFactory()
    conversations = []
    for i in range(7):
        other = UserFactory()
        conversation = direct(other, me)
        send(other, conversation, f"hello {i}")
        conversations.append(conversation)
    client = client_for(me)
    pinned = conversations[0]  # the oldest activity, on top all the same
    assert client.post(f"/api/v1/conversations/{pinned.pk}/pin").json()["pinned"] is True
    seen: list[str] = []
    page = client.get("/api/v1/conversations?limit=2").json()
    assert page["results"][0]["id"] == str(pinned.pk)
    seen += [c["id"] for c in page["results"]]
    while page["next"]:
        page = client.get(f"/api/v1/conversations?limit=2&cursor={page['next']}").json()
        seen += [c["id"] for c in page["results"]]
    newest_first = [str(c.pk) for c in reversed(conversations[1:])]
    assert seen == [str(pinned.pk), *newest_first]
    for extra in conversations[1:5]:
        client.post(f"/api/v1/conversations/{extra.pk}/pin")
    refused = assert_error(client.post(f"/api/v1/conversations/{conversations[5].pk}/pin"),
                           400)
    assert refused["code"] == "too_many_pins"


def test_the_members_list_shows_read_positions_of_those_who_show_receipts() -> None:
    admin, shows, hides = UserFactory(), UserFactory(), UserFactory()
    friends(admin, shows)
    friends(admin, hides)
    group = services.create_group(admin, [shows.pk, hides.pk], "g")
    said = send(admin, group, "read me")
    assert said.seq is not None
    for reader in (shows, hides):
        client_for(reader).post(f"/api/v1/conversations/{group.pk}/read", {"seq": said.seq},
                                format="json")
    client_for(hides).patch("/api/v1/me/messaging-settings", {"read_receipts": False},
                            format="json")
    members = client_for(admin).get(f"/api/v1/conversations/{group.pk}/members").json()
    reads = {m["id"]: m["last_read_seq"] for m in members}
    assert reads == {str(admin.pk): said.seq, str(shows.pk): said.seq, str(hides.pk): None}
