"""The advertisers' ad-group JSON API: create, read and change an ad group with its targeting
(content topics included, as the portal's form), bad input as 4xx in the error shape, and
another org's ids as 404 with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.ads.models import AdGroup, CustomAudience, Membership
from tests.ads.core_helpers import campaign_for, group_for, org_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _client(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


def _snapshot(group: AdGroup) -> tuple[Any, ...]:
    group.refresh_from_db()
    return (group.name, group.bid_micros, group.topics, group.interests, group.countries,
            group.age_bands, list(group.custom_audiences.values_list("pk", flat=True)))


def test_an_editor_creates_reads_and_changes_a_groups_topics_and_targeting() -> None:
    org, admin = org_with()
    editor = UserFactory()
    Membership.objects.create(org=org, user=editor, role=Membership.Role.EDITOR)
    campaign = campaign_for(org, admin)
    audience = CustomAudience.objects.create(org=org, name="Buyers")

    created = _client(editor).post(
        f"/api/v1/ads/campaigns/{campaign.pk}/adgroups",
        {"name": "  Foodies ", "bid_strategy": "cpm", "bid_micros": 4_000_000,
         "frequency_cap_day": 3, "countries": ["us", "GB"], "languages": ["en"],
         "age_bands": ["18-24", "25-34"], "interests": ["food"], "devices": ["ios"],
         "topics": ["Food", "travel", "food"], "custom_audience_ids": [str(audience.pk)]},
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    group = AdGroup.objects.get(campaign=campaign)
    assert body["id"] == str(group.pk)
    assert body["campaign_id"] == str(campaign.pk)
    assert (body["name"], body["bid_micros"], body["frequency_cap_day"]) == (
        "Foodies", 4_000_000, 3)
    assert body["topics"] == ["food", "travel"]  # normalised as the portal's form
    assert body["countries"] == ["US", "GB"]
    assert body["custom_audience_ids"] == [str(audience.pk)]
    assert group.topics == ["food", "travel"]

    read = _client(editor).get(f"/api/v1/ads/adgroups/{group.pk}")
    assert read.status_code == 200
    assert read.json() == body

    changed = _client(editor).patch(
        f"/api/v1/ads/adgroups/{group.pk}", {"topics": ["cars"], "bid_micros": 5_000_000},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    group.refresh_from_db()
    assert (group.topics, group.bid_micros, group.interests) == (["cars"], 5_000_000, ["food"])
    assert changed.json()["topics"] == ["cars"]

    cleared = _client(editor).patch(f"/api/v1/ads/adgroups/{group.pk}", {"topics": []},
                                    format="json")
    assert cleared.status_code == 200
    group.refresh_from_db()
    assert group.topics == []  # any slot


def test_an_unknown_topic_is_refused_in_words_and_nothing_changes() -> None:
    org, admin = org_with()
    group = group_for(campaign_for(org, admin), admin, topics=["food"])
    before = _snapshot(group)

    response = _client(admin).patch(
        f"/api/v1/ads/adgroups/{group.pk}",
        {"topics": ["food", "knitting"], "name": "Renamed"}, format="json",
    )

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    (message,) = error["fields"]["topics"]
    assert message.startswith("Not a content topic: 'knitting' (one of comedy, dance,")
    assert _snapshot(group) == before

    created = _client(admin).post(
        f"/api/v1/ads/campaigns/{group.campaign_id}/adgroups",
        {"name": "More", "bid_strategy": "cpm", "bid_micros": 4_000_000,
         "topics": ["Knitting"]}, format="json",
    )
    assert created.status_code == 400
    assert "Not a content topic: 'Knitting'" in _error(created)["fields"]["topics"][0]
    assert AdGroup.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topics": "food"}, "topics"),  # not a list
        ({"topics": [{"key": "food"}]}, "topics"),
        ({"topics": ["food"] * 251}, "topics"),
        ({"bid_micros": -1}, "bid_micros"),
        ({"bid_micros": 10**30}, "bid_micros"),
        ({"bid_micros": "lots"}, "bid_micros"),
        ({"frequency_cap_day": 0}, "frequency_cap_day"),
        ({"hours_of_week": [168]}, "hours_of_week"),
        ({"interests": ["knitting"]}, "interests"),
        ({"age_bands": ["13-17"], "interests": ["food"]}, "age_bands"),  # minors: no interests
        ({"custom_audience_ids": ["abc"]}, "custom_audience_ids"),
        ({"status": "deleted"}, "status"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(body: dict[str, Any], field: str) -> None:
    org, admin = org_with()
    group = group_for(campaign_for(org, admin), admin, topics=["food"])
    before = _snapshot(group)

    response = _client(admin).patch(f"/api/v1/ads/adgroups/{group.pk}", body, format="json")

    assert response.status_code == 400, response.content
    assert any(key.split(".")[0] == field for key in _error(response)["fields"])  # topics.0
    assert _snapshot(group) == before


def test_another_orgs_ids_are_not_found_and_nothing_changes() -> None:
    org, admin = org_with()
    group = group_for(campaign_for(org, admin), admin, topics=["food"])
    other_org, other_admin = org_with(name="Rival")
    theirs = CustomAudience.objects.create(org=other_org, name="Theirs")
    before = _snapshot(group)
    rival = _client(other_admin)

    read = rival.get(f"/api/v1/ads/adgroups/{group.pk}")
    changed = rival.patch(f"/api/v1/ads/adgroups/{group.pk}", {"topics": ["cars"]},
                          format="json")
    created = rival.post(f"/api/v1/ads/campaigns/{group.campaign_id}/adgroups",
                         {"name": "Mine now", "bid_strategy": "cpm", "bid_micros": 4_000_000},
                         format="json")
    unknown = rival.get("/api/v1/ads/adgroups/99999999999")
    garbage = rival.get("/api/v1/ads/adgroups/../1")
    # and the owner cannot attach the other org's audience
    borrowed = _client(admin).patch(f"/api/v1/ads/adgroups/{group.pk}",
                                    {"custom_audience_ids": [str(theirs.pk)]}, format="json")

    for response in (read, changed, created, unknown):
        assert response.status_code == 404, response.content
        assert _error(response)["code"] in ("not_found", "org_not_found")
    assert garbage.status_code == 404
    assert read.json() == unknown.json()  # another org's group and no group look the same
    assert borrowed.status_code == 400
    assert _error(borrowed)["fields"]["custom_audience_ids"] == [
        "No such audience in this account."]
    assert _snapshot(group) == before
    assert AdGroup.objects.count() == 1


def test_an_analyst_reads_but_cannot_change_and_a_visitor_gets_nothing() -> None:
    org, admin = org_with()
    analyst = UserFactory()
    Membership.objects.create(org=org, user=analyst, role=Membership.Role.ANALYST)
    group = group_for(campaign_for(org, admin), admin, topics=["food"])
    before = _snapshot(group)

    read = _client(analyst).get(f"/api/v1/ads/adgroups/{group.pk}")
    changed = _client(analyst).patch(f"/api/v1/ads/adgroups/{group.pk}", {"topics": ["cars"]},
                                     format="json")
    created = _client(analyst).post(
        f"/api/v1/ads/campaigns/{group.campaign_id}/adgroups",
        {"name": "X", "bid_strategy": "cpm", "bid_micros": 4_000_000}, format="json")
    anonymous = _client().get(f"/api/v1/ads/adgroups/{group.pk}")

    assert read.status_code == 200
    assert read.json()["topics"] == ["food"]
    assert changed.status_code == 403
    assert "editor" in _error(changed)["message"]
    assert created.status_code == 403
    assert anonymous.status_code in (401, 403)
    _error(anonymous)
    assert _snapshot(group) == before
    assert AdGroup.objects.count() == 1
