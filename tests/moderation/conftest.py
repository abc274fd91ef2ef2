"""Moderation test helpers: moderators in the real groups (made by the setup command),
API clients for ordinary users, and a web client for staff pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.moderation.groups import setup_groups
from tests.factories import UserFactory


@pytest.fixture
def groups(db: Any) -> None:
    setup_groups()


@pytest.fixture
def moderator(groups: None) -> Callable[..., User]:
    """`moderator("Senior moderators")`: a staff user in that group."""

    def make(*group_names: str, **kwargs: Any) -> User:
        user = UserFactory(is_staff=True, **kwargs)
        for name in group_names or ("Moderators",):
            user.groups.add(Group.objects.get(name=name))
        return User.objects.get(pk=user.pk)  # fresh permission cache

    return make


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def web_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error
