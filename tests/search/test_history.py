"""Search history (issue 13): recorded for signed-in users' full searches, one row per
normalised query (a repeat moves to the top), at most 50; delete one (only one's own),
clear all; signed out is a 401; the account's removal and export take it along."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.hooks import export_sections, run_account_removal_hooks
from apps.search.models import SearchHistory
from apps.search.services import history, record_search
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/search/history"


def queries(client: APIClient) -> list[str]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return [row["query"] for row in response.json()["results"]]


def test_full_searches_are_listed_newest_first_and_a_repeat_moves_to_the_top(auth_client,
                                                                            user):
    record_search(user, "funny cats")
    record_search(user, "  Café   Tacos ")
    record_search(user, "dance")
    record_search(user, "FUNNY  CATS")  # the same query, normalised

    assert queries(auth_client) == ["FUNNY CATS", "dance", "Café Tacos"]
    assert SearchHistory.objects.filter(user=user).count() == 3
    record_search(user, "cafe tacos")  # accents folded: the same entry again
    assert queries(auth_client) == ["cafe tacos", "FUNNY CATS", "dance"]
    row = auth_client.get(URL).json()["results"][0]
    assert set(row) == {"id", "query", "created_at"}
    assert isinstance(row["id"], str)


def test_nothing_is_recorded_for_signed_out_viewers_or_empty_queries(user):
    assert record_search(AnonymousUser(), "cats") is None
    assert record_search(None, "cats") is None
    assert record_search(user, "   ") is None
    assert record_search(user, "\x00") is None
    assert not SearchHistory.objects.exists()


def test_at_most_50_entries_are_kept_per_user(user):
    other = UserFactory()
    record_search(other, "theirs")
    for n in range(55):
        record_search(user, f"query {n}")

    kept = list(SearchHistory.objects.filter(user=user).order_by("-searched_at", "-id")
                .values_list("query", flat=True))
    assert len(kept) == history.MAX_PER_USER
    assert kept[0] == "query 54"
    assert "query 4" not in kept
    assert "query 5" in kept
    assert SearchHistory.objects.filter(user=other).count() == 1


def test_the_list_shows_the_20_newest(auth_client, user):
    for n in range(25):
        record_search(user, f"q{n}")
    listed = queries(auth_client)
    assert len(listed) == 20
    assert listed[0] == "q24"


def test_delete_one_of_ones_own_searches(auth_client, user):
    keep = record_search(user, "keep me")
    gone = record_search(user, "forget me")
    assert keep is not None
    assert gone is not None

    response = auth_client.delete(f"{URL}/{gone.pk}")

    assert response.status_code == 204
    assert queries(auth_client) == ["keep me"]
    again = auth_client.delete(f"{URL}/{gone.pk}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999"])
def test_a_malformed_id_is_a_404(auth_client, bad_id):
    response = auth_client.delete(f"{URL}/{bad_id}")
    assert response.status_code == 404
    assert response.json()["error"]["message"]


def test_someone_elses_entry_is_a_404_and_stays(auth_client):
    other = UserFactory()
    theirs = record_search(other, "private thoughts")
    assert theirs is not None

    response = auth_client.delete(f"{URL}/{theirs.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert SearchHistory.objects.filter(pk=theirs.pk).exists()
    assert "private thoughts" not in queries(auth_client)


def test_clear_all_removes_only_ones_own(auth_client, user):
    other = UserFactory()
    record_search(user, "one")
    record_search(user, "two")
    record_search(other, "theirs")

    response = auth_client.delete(URL)

    assert response.status_code == 204
    assert queries(auth_client) == []
    assert SearchHistory.objects.filter(user=other).count() == 1


@pytest.mark.parametrize(("method", "path"), [("get", URL), ("delete", URL),
                                              ("delete", f"{URL}/123")])
def test_signed_out_is_a_401_in_the_error_shape(method, path):
    response = getattr(APIClient(), method)(path)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]


def test_deleting_is_a_throttled_write(auth_client, user, settings):
    from apps.core.throttles import BurstWriteThrottle

    rates = {**BurstWriteThrottle.THROTTLE_RATES, "write_burst": "2/min"}
    original = BurstWriteThrottle.THROTTLE_RATES
    BurstWriteThrottle.THROTTLE_RATES = rates
    try:
        codes = [auth_client.delete(URL).status_code for _ in range(3)]
    finally:
        BurstWriteThrottle.THROTTLE_RATES = original
    assert codes == [204, 204, 429]


def test_account_removal_and_export_take_the_history(user, django_capture_on_commit_callbacks):
    other = UserFactory()
    record_search(user, "mine")
    record_search(other, "theirs")
    SearchHistory.objects.filter(user=user).update(
        searched_at=timezone.now() - timedelta(minutes=1))
    record_search(user, "newer")

    exported = export_sections()["search_history"](user_id=user.pk)
    assert [row["query"] for row in exported] == ["newer", "mine"]

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_account_removal_hooks(user_id=user.pk)
        user.delete()

    assert list(SearchHistory.objects.values_list("query", flat=True)) == ["theirs"]
