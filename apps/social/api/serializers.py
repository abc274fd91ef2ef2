"""Shapes shared by the graph endpoints: a user as a list row shows them, the viewer's
relation to them, and the error body."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.api.schema import ErrorDocs


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
