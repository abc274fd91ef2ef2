"""Who is calling: request helpers every API view uses (identity lives in accounts)."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import serializers
from rest_framework.request import Request

from apps.accounts.models import User


def viewer_of(request: Request) -> User | None:
    """The signed-in user, or None for an anonymous caller."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def user_of(request: Request) -> User:
    """The signed-in user, for views whose permission class already requires one."""
    return cast(User, request.user)


def require_no_fields(request: Request) -> None:
    """For writes that take no fields: a body that is not a JSON object is still a 400."""
    serializer: serializers.Serializer[Any] = serializers.Serializer(data=request.data or {})
    serializer.is_valid(raise_exception=True)
