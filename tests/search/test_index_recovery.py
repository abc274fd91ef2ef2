"""The derived index going wrong at start: a corrupt tantivy directory is thrown away and
rebuilt (not a worker that cannot start, nor searches that silently find nothing for ever),
and while the index is unbuilt a search still answers, with a notice in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.search import tasks
from apps.search.engine import SearchDoc, get_backend, reset_backends
from apps.search.engine.tantivy_backend import SCHEMA_VERSION, TantivyBackend
from tests.factories import UserFactory
from tests.search.query_helpers import search


def _corrupt(root: Path) -> None:
    (root / "tantivy" / f"v{SCHEMA_VERSION}" / "meta.json").write_text("not json {")


def test_a_corrupt_index_opens_empty_and_unbuilt_then_takes_writes(tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "tantivy")
    backend.apply(upserts=[SearchDoc(kind="account", id=1, fields={"handle": "olderdoc"})])
    backend.mark_built()
    _corrupt(tmp_path)

    reopened = TantivyBackend(tmp_path / "tantivy")  # raised ValueError before

    assert not reopened.is_built()  # so the drain starts the first-start rebuild
    assert reopened.search("account", "olderdoc", limit=5) == []
    reopened.apply(upserts=[SearchDoc(kind="account", id=2, fields={"handle": "newdoc"})])
    assert [hit.id for hit in reopened.search("account", "newdoc", limit=5)] == [2]


@pytest.fixture
def own_index(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """This test's own tantivy index directory (not the run's shared one)."""
    settings.SWIPEME_SEARCH_BACKEND = "tantivy"
    settings.SWIPEME_SEARCH_INDEX_DIR = tmp_path
    reset_backends()
    yield tmp_path
    reset_backends()


@pytest.mark.django_db
def test_a_corrupt_index_at_start_answers_with_a_notice_then_is_rebuilt(
        own_index: Path, api_client: APIClient) -> None:
    creator = UserFactory(username="recoverme")
    get_backend().apply(upserts=[SearchDoc(kind="account", id=creator.pk,
                                           fields={"handle": "recoverme"})])
    get_backend().mark_built()
    _corrupt(own_index)
    reset_backends()  # a web worker starting on the corrupt directory

    while_building = search(api_client, "recoverme", tab="accounts")
    assert while_building["results"] == []
    assert while_building["notice"]["code"] == "index_building"
    assert "try again" in while_building["notice"]["message"]

    assert tasks.rebuild_index_if_unbuilt() is True  # what the drain schedules when unbuilt

    rebuilt = search(api_client, "recoverme", tab="accounts")
    assert rebuilt["notice"] is None
    assert [item["username"] for item in rebuilt["results"]] == ["recoverme"]


@pytest.mark.django_db
def test_an_unbuilt_index_still_answers_what_it_holds_with_the_notice(
        own_index: Path, api_client: APIClient) -> None:
    creator = UserFactory(username="halfbuilt")
    get_backend().apply(upserts=[SearchDoc(kind="account", id=creator.pk,
                                           fields={"handle": "halfbuilt"})])
    body = search(api_client, "halfbuilt", tab="accounts")
    assert [item["username"] for item in body["results"]] == ["halfbuilt"]
    assert body["notice"]["code"] == "index_building"
    assert body["notice"]["title"]


@pytest.mark.django_db
def test_an_index_broken_while_running_degrades_search_and_suggestions_not_a_500(
        own_index: Path, api_client: APIClient) -> None:
    creator = UserFactory(username="brokenidx")
    get_backend().apply(upserts=[SearchDoc(kind="account", id=creator.pk,
                                           fields={"handle": "brokenidx"})])
    get_backend().mark_built()
    meta_path = own_index / "tantivy" / f"v{SCHEMA_VERSION}" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["segments"][0]["segment_id"] = "0" * 32  # a commit naming a segment that is gone
    meta_path.write_text(json.dumps(meta))

    assert search(api_client, "brokenidx", tab="accounts")["results"] == []
    response = api_client.get("/api/v1/search/suggestions", {"q": "broken"})
    assert response.status_code == 200, response.content  # the completions raised: a 500
    assert response.json()["results"] == []
