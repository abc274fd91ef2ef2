"""The inbox item built directly (`NotificationSerializer.to_representation`, for speed) is
exactly what its declared fields give (DRF's walk, the schema's), on every kind of line:
actors with and without avatars, none, a target or none, extra data, read or not, a
pending follow request, values that are None."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework import serializers

from apps.accounts.models import User
from apps.notifications.api.views import NotificationSerializer
from apps.notifications.models import Notification
from apps.notifications.selectors import Line


def _user(pk: int, **fields: Any) -> User:
    values: dict[str, Any] = {"username": f"u{pk}", "display_name": f"User {pk}",
                              "avatar_sizes": {}, "is_private": False, "is_verified": False}
    values.update(fields)
    return User(pk=pk, **values)


def _lines() -> list[Line]:
    when = datetime(2026, 12, 6, 18, 0, 5, 123456, tzinfo=UTC)
    maya = _user(11, display_name="Maya", is_verified=True,
                 avatar_sizes={"96": "avatars/11/96.webp", 48: "avatars/11/48.webp",
                               "bad": None, "empty": ""})
    private = _user(12, is_private=True, avatar_sizes=None)
    blank = _user(13, display_name="")
    rows = [
        (Notification(pk=1, recipient_id=5, type="post_liked", target_type="post",
                      target_id=99, actor_ids=[11, 12], actor_count=42, seq=7,
                      data={}, created_at=when, updated_at=when + timedelta(minutes=3)),
         "Maya and 41 others liked your video", "", "/p/99", [maya, private], False),
        (Notification(pk=2**62 + 3, recipient_id=5, type="follow_request",
                      target_type="user", target_id=None, actor_ids=[13], actor_count=1,
                      seq=2**40, data={"note": None, "n": 3, "nested": {"a": [1, "b"]}},
                      read_at=when, created_at=when, updated_at=when),
         "u13 asked to follow you", "Accept or decline.", "/inbox", [blank], True),
        (Notification(pk=3, recipient_id=5, type="security", target_type="",
                      target_id=None, actor_ids=[], actor_count=0, seq=1,
                      data={"kind": "new_device", 7: "seven"}, created_at=when,
                      updated_at=when),
         "New log-in", "A new device signed in.", "/settings/devices", [], False),
    ]
    return [Line(notification=row, title=title, body=body, path=path, actors=actors,
                 request_pending=pending)
            for row, title, body, path, actors, pending in rows]


def test_the_direct_item_is_what_the_declared_fields_give() -> None:
    lines = _lines()
    direct = [dict(item) for item in NotificationSerializer(lines, many=True).data]
    declared = [dict(serializers.Serializer.to_representation(NotificationSerializer(), line))
                for line in lines]
    assert direct == declared
    assert direct[1]["id"] == str(2**62 + 3)
    assert direct[1]["target_id"] is None
    assert direct[0]["actors"][0]["avatar"]  # the case with sizes was exercised
    assert direct[1]["actors"][0]["avatar"] == {}
    assert direct[0]["actors"][1]["avatar"] is None
