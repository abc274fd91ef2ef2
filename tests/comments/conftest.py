from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from apps.accounts.models import User


class CommittingClient(APIClient):
    """Tests run inside a transaction that never commits, so on-commit callbacks (the Redis
    counter deltas) would never run. Each request here runs the callbacks its own
    transactions left, as a real commit would; rolled-back work leaves none."""

    def generic(self, *args: Any, **kwargs: Any) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().generic(*args, **kwargs)


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = CommittingClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def anon_client() -> APIClient:
    return CommittingClient()
