"""The list of a creator's saved edits (GET /api/v1/studio/edits, for the editor's "Continue
a saved edit"): only the caller's, newest first, each with its latest version's number,
state and length; one query a page whatever its size."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.studio.models import Edit, EditVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _edit(owner: Any, versions: int) -> Edit:
    edit = Edit.objects.create(owner=owner)
    for number in range(1, versions + 1):
        EditVersion.objects.create(
            edit=edit, number=number, document={"version": 2, "clips": []},
            duration_ms=1000 * number,
            state=EditVersion.State.DRAFT if number == versions else EditVersion.State.RENDERED)
    return edit


def _page(client: APIClient, size: int) -> tuple[dict[str, Any], int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/studio/edits?page_size={size}")
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_the_saved_edits_are_the_callers_newest_first_with_their_latest_version(user):
    first, second = _edit(user, 1), _edit(user, 3)
    _edit(UserFactory(), 2)  # someone else's
    client = APIClient()
    client.force_authenticate(user)
    body, _ = _page(client, 20)
    assert [row["id"] for row in body["results"]] == [str(second.pk), str(first.pk)]
    latest = body["results"][0]
    assert (latest["latest_number"], latest["latest_state"], latest["latest_duration_ms"]) == (
        3, "draft", 3000)
    assert latest["post_id"] is None
    # the query count does not grow with the page
    for _ in range(4):
        _edit(user, 2)
    small, small_queries = _page(client, 2)
    large, large_queries = _page(client, 6)
    assert (len(small["results"]), len(large["results"])) == (2, 6)
    assert small_queries == large_queries
    # signed out: nothing
    assert APIClient().get("/api/v1/studio/edits").status_code in (401, 403)
