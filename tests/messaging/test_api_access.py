"""Only active members reach a conversation: every endpoint answers a non-participant, a
removed member and a member who left with the same 404 as for a conversation that does
not exist (nothing reveals that it exists), in the error shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.factories import UserFactory
from tests.messaging.helpers import client_for, friends, send

pytestmark = pytest.mark.django_db

Call = Callable[[APIClient, str, str, str], Any]

# (name, call(client, conversation id, message id, member id))
ENDPOINTS: list[tuple[str, Call]] = [
    ("detail", lambda c, cid, mid, uid: c.get(f"/api/v1/conversations/{cid}")),
    ("rename", lambda c, cid, mid, uid: c.patch(f"/api/v1/conversations/{cid}",
                                                {"name": "x"}, format="json")),
    ("members", lambda c, cid, mid, uid: c.get(f"/api/v1/conversations/{cid}/members")),
    ("add member", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/members",
                                                   {"user_ids": [uid]}, format="json")),
    ("set role", lambda c, cid, mid, uid: c.patch(
        f"/api/v1/conversations/{cid}/members/{uid}", {"role": "admin"}, format="json")),
    ("remove member", lambda c, cid, mid, uid: c.delete(
        f"/api/v1/conversations/{cid}/members/{uid}")),
    ("messages", lambda c, cid, mid, uid: c.get(f"/api/v1/conversations/{cid}/messages")),
    ("resume", lambda c, cid, mid, uid: c.get(f"/api/v1/conversations/{cid}/messages?after=0")),
    ("send", lambda c, cid, mid, uid: c.post(
        f"/api/v1/conversations/{cid}/messages",
        {"client_id": str(uuid.uuid4()), "kind": "text", "body": "hi"}, format="json")),
    ("message", lambda c, cid, mid, uid: c.get(f"/api/v1/conversations/{cid}/messages/{mid}")),
    ("edit", lambda c, cid, mid, uid: c.patch(
        f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "x"}, format="json")),
    ("unsend", lambda c, cid, mid, uid: c.delete(
        f"/api/v1/conversations/{cid}/messages/{mid}")),
    ("hide", lambda c, cid, mid, uid: c.post(
        f"/api/v1/conversations/{cid}/messages/{mid}/hide")),
    ("react", lambda c, cid, mid, uid: c.put(
        f"/api/v1/conversations/{cid}/messages/{mid}/reaction", {"emoji": "👍"},
        format="json")),
    ("unreact", lambda c, cid, mid, uid: c.delete(
        f"/api/v1/conversations/{cid}/messages/{mid}/reaction")),
    ("read", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/read",
                                             {"seq": 1}, format="json")),
    ("accept", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/accept")),
    ("decline", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/decline")),
    ("leave", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/leave")),
    ("clear", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/clear")),
    ("mute", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/mute")),
    ("unmute", lambda c, cid, mid, uid: c.delete(f"/api/v1/conversations/{cid}/mute")),
    ("pin", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/pin")),
    ("unpin", lambda c, cid, mid, uid: c.delete(f"/api/v1/conversations/{cid}/pin")),
    ("archive", lambda c, cid, mid, uid: c.post(f"/api/v1/conversations/{cid}/archive")),
    ("unarchive", lambda c, cid, mid, uid: c.delete(f"/api/v1/conversations/{cid}/archive")),
]


def _group() -> tuple[Conversation, Message, User, dict[str, User]]:
    admin, member, removed, left, stranger = (UserFactory() for _ in range(5))
    for other in (member, removed, left):
        friends(admin, other)
    group = services.create_group(admin, [member.pk, removed.pk, left.pk], "g")
    message = send(member, group, "hello all")
    services.remove_member(admin, group.pk, removed.pk)
    services.leave(left, group.pk)
    return group, message, member, {"stranger": stranger, "removed": removed, "left": left}


@pytest.mark.parametrize(("name", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_endpoint_is_a_404_for_outsiders(name: str, call: Call) -> None:
    group, message, member, outsiders = _group()
    missing = 1 << 40  # a conversation that does not exist
    expected = call(client_for(outsiders["stranger"]), str(missing), str(message.pk),
                    str(member.pk))
    assert expected.status_code == 404, expected.content
    for who, user in outsiders.items():
        response = call(client_for(user), str(group.pk), str(message.pk), str(member.pk))
        assert response.status_code == 404, (who, response.content)
        assert response.json() == expected.json(), who
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    # nothing was written by any of them
    assert Message.objects.filter(conversation=group).exclude(kind="system").count() == 1
    assert not message.reactions.exists()


def test_the_list_and_badge_do_not_show_it_to_outsiders() -> None:
    group, _, _, outsiders = _group()
    for user in outsiders.values():
        client = client_for(user)
        for folder in ("inbox", "requests", "archived"):
            body = client.get(f"/api/v1/conversations?folder={folder}").json()
            assert str(group.pk) not in [c["id"] for c in body["results"]]
        assert client.get("/api/v1/messaging/unread").json()["unread"] == 0


def test_signed_out_is_401() -> None:
    group, _, _, _ = _group()
    assert APIClient().get(f"/api/v1/conversations/{group.pk}/messages").status_code == 401
    assert APIClient().get("/api/v1/conversations").status_code == 401
