from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from apps.accounts.models import User


@pytest.fixture
def browser_for() -> Callable[[User | None], Client]:
    """A Django test client signed in as `user` (anonymous for None): the web pages use
    the session, as a browser does."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
