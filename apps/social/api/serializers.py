"""Shapes shared by the graph endpoints: a user as a list row shows them, the viewer's
relation to them, and the error body."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.api.schema import ErrorDocs
from apps.social.hooks import live_rings


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"},
                      "example": {"48": "/media/avatars/48/1-ab.webp"},
                      "description": "Avatar URL per pixel size; empty without an avatar."})
class AvatarField(serializers.Field):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "avatar_sizes")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        return {str(size): default_storage.url(name) for size, name in value.items()
                if isinstance(name, str) and name}


class RelationSerializer(serializers.Serializer[Any]):
    following = serializers.BooleanField(help_text="The viewer follows this user.")
    requested = serializers.BooleanField(help_text="The viewer's follow request is pending.")
    follows_you = serializers.BooleanField(help_text="This user follows the viewer.")
    blocked_by_you = serializers.BooleanField()
    muted = serializers.BooleanField(help_text="The viewer muted this user.")
    is_self = serializers.BooleanField()
    subscribed = serializers.BooleanField(
        help_text="The viewer has a paid subscription to this user (access now).")
    subscribes_to_you = serializers.BooleanField(
        help_text="This user has a paid subscription to the viewer: a subscriber badge.")


class UserSummarySerializer(serializers.Serializer[User]):
    id = serializers.CharField(help_text="64-bit id, as a string.")
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar = AvatarField()
    is_private = serializers.BooleanField()
    is_verified = serializers.BooleanField()


LIVE_RINGS = "live_rings"  # the root serializer's context: user id -> on-air live id


def live_ring_of(serializer: serializers.BaseSerializer[Any], user_id: int) -> int | None:
    """The live `user_id` is on air in (one the viewer may watch), from the root
    context's map (a list reads its page's users at once: `remember_live_rings`), else
    asked for this one user."""
    context: dict[str, Any] = serializer.root._context  # type: ignore[attr-defined,assignment]
    rings = context.setdefault(LIVE_RINGS, {})
    if user_id not in rings:
        remember_live_rings(serializer, [user_id])
    live_id: int | None = rings.get(user_id) or None
    return live_id


def remember_live_rings(serializer: serializers.BaseSerializer[Any],
                        user_ids: Iterable[int]) -> None:
    """Ask once for these users' rings and keep the answers (0: not live) in the root
    context, where every nested `UserWithLiveSerializer` reads them."""
    context: dict[str, Any] = serializer.root._context  # type: ignore[attr-defined,assignment]
    rings = context.setdefault(LIVE_RINGS, {})
    todo = {int(user_id) for user_id in user_ids} - set(rings)
    if not todo:
        return
    request = context.get("request")
    found = live_rings(viewer=getattr(request, "user", None), user_ids=todo)
    rings.update({user_id: found.get(user_id, 0) for user_id in todo})


@extend_schema_serializer(component_name="UserWithLive")
class UserWithLiveSerializer(UserSummarySerializer):
    """A user whose avatar is shown (a post's author): with the ring when they are live."""

    is_live = serializers.SerializerMethodField(
        help_text="On air now in a live you may watch: draw the ring on the avatar.")
    live_id = serializers.SerializerMethodField(
        help_text="That live's id (its page: /live/<id>), or null.")

    def get_is_live(self, user: User) -> bool:
        return live_ring_of(self, user.pk) is not None

    def get_live_id(self, user: User) -> str | None:
        live_id = live_ring_of(self, user.pk)
        return str(live_id) if live_id is not None else None


class UserRowSerializer(serializers.Serializer[Any]):
    """A row of followers / following / friends: the user and the viewer's relation."""

    id = serializers.CharField(source="user.id", help_text="The user's id, as a string.")
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.display_name")
    avatar = AvatarField(source="user.avatar_sizes")
    is_private = serializers.BooleanField(source="user.is_private")
    is_verified = serializers.BooleanField(source="user.is_verified")
    relation = RelationSerializer()


errors = ErrorDocs({
    400: "Invalid input (malformed JSON, bad cursor, a rule refused the request).",
    403: "Not allowed (private account, blocked).",
    404: "No such user or request, or not visible to you.",
})
