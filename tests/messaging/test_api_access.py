"""Only active members reach a conversation: every endpoint answers a non-participant, a
removed member and a member who left with the same 404 as for a conversation that does
not exist (nothing reveals that it exists), a signed-out client with a 401, in the error
shape, and none of them writes anything. The
list of endpoints is checked against the served schema, so a new one cannot be missed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.messaging import services
from apps.messaging.models import Conversation, Message, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import client_for, friends, send

pytestmark = pytest.mark.django_db

C = "/api/v1/conversations/{conversation_id}"
M = C + "/messages/{message_id}"
# every operation on one conversation, with a body that would be valid for a member
ENDPOINTS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", C): None,
    ("PATCH", C): {"name": "x"},
    ("GET", C + "/members"): None,
    ("POST", C + "/members"): {"user_ids": ["{user_id}"]},
    ("PATCH", C + "/members/{user_id}"): {"role": "admin"},
    ("DELETE", C + "/members/{user_id}"): None,
    ("GET", C + "/messages"): None,
    ("POST", C + "/messages"): {"client_id": "new", "kind": "text", "body": "hi"},
    ("GET", M): None,
    ("PATCH", M): {"body": "x"},
    ("DELETE", M): None,
    ("POST", M + "/hide"): None,
    ("PUT", M + "/reaction"): {"emoji": "👍"},
    ("DELETE", M + "/reaction"): None,
    ("POST", C + "/read"): {"seq": 1},
    ("POST", C + "/accept"): None,
    ("POST", C + "/decline"): None,
    ("POST", C + "/leave"): None,
    ("POST", C + "/clear"): None,
    ("POST", C + "/mute"): None,
    ("DELETE", C + "/mute"): None,
    ("POST", C + "/pin"): None,
    ("DELETE", C + "/pin"): None,
    ("POST", C + "/archive"): None,
    ("DELETE", C + "/archive"): None,
    ("POST", C + "/report"): {"message_ids": ["{message_id}"], "policy": "spam_scam"},
}


def _group() -> tuple[Conversation, Message, User, dict[str, User]]:
    admin, member, removed, left, stranger = (UserFactory() for _ in range(5))
    for other in (member, removed, left):
        friends(admin, other)
    group = services.create_group(admin, [member.pk, removed.pk, left.pk], "g")
    message = send(member, group, "hello all")
    services.remove_member(admin, group.pk, removed.pk)
    services.leave(left, group.pk)
    return group, message, member, {"stranger": stranger, "removed": removed, "left": left}


def _call(client: APIClient, method: str, path: str, data: dict[str, Any] | None,
          ids: dict[str, str]) -> Any:
    url = path.format(**ids)
    if data is not None:
        data = {k: ([v.format(**ids) for v in value] if isinstance(value, list)
                    else value) for k, value in data.items()}
    body = "" if data is None else json.dumps(data)
    return client.generic(method, url, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "path"), list(ENDPOINTS),
                         ids=[f"{m} {p.removeprefix(C)}" for m, p in ENDPOINTS])
def test_every_endpoint_is_a_404_for_outsiders(method: str, path: str) -> None:
    group, message, member, outsiders = _group()
    data = ENDPOINTS[(method, path)]
    state = list(Participant.objects.filter(conversation=group).order_by("user_id").values_list(
        "user_id", "state", "role", "last_read_seq", "pinned_at", "muted_until",
        "archived_at", "accepted_at", "cleared_seq"))
    ids = {"message_id": str(message.pk), "user_id": str(member.pk)}
    missing = _call(client_for(outsiders["stranger"]), method, path, data,
                    {**ids, "conversation_id": str(1 << 40)})
    assert missing.status_code == 404, missing.content
    for who, user in outsiders.items():
        response = _call(client_for(user), method, path, data,
                         {**ids, "conversation_id": str(group.pk)})
        assert response.status_code == 404, (who, response.content)
        assert response.json() == missing.json(), who
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    signed_out = _call(APIClient(), method, path, data,
                       {**ids, "conversation_id": str(group.pk)})
    assert signed_out.status_code == 401, signed_out.content
    assert set(signed_out.json()["error"]) == {"code", "message", "fields"}
    # nothing was written by any of them
    assert Message.objects.filter(conversation=group).exclude(kind="system").count() == 1
    assert not message.reactions.exists()
    assert Message.objects.get(pk=message.pk).body == "hello all"
    assert list(Participant.objects.filter(conversation=group).order_by("user_id").values_list(
        "user_id", "state", "role", "last_read_seq", "pinned_at", "muted_until",
        "archived_at", "accepted_at", "cleared_seq")) == state


def test_the_list_above_names_every_conversation_operation_of_the_schema() -> None:
    from tests.contract.helpers import served_schema

    paths = served_schema().raw_schema["paths"]
    served = {(method.upper(), path) for path, item in paths.items()
              if path.startswith(C) for method in item
              if method in ("get", "put", "post", "patch", "delete")}
    assert served == set(ENDPOINTS)


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
    assert APIClient().post(f"/api/v1/conversations/{group.pk}/messages",
                            {"client_id": str(uuid.uuid4())}).status_code == 401
    assert APIClient().get("/api/v1/conversations").status_code == 401
