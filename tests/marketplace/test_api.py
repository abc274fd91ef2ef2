"""The creator's API: joining (refused in words), the media kit, the deal's steps through
HTTP, other people's deals and signed-out callers, answers as the served schema says, and a
list whose query count does not grow with its page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.marketplace.models import Deal
from tests.contract.helpers import call, served_schema, sign_in
from tests.factories import UserFactory
from tests.marketplace.helpers import brand, creator, draft_post, invite, opted_in

pytestmark = pytest.mark.django_db

ME = "/api/v1/marketplace/me"


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_joining_is_refused_in_words_then_the_kit_is_filled() -> None:
    small = UserFactory()
    answer = api(small).get(ME).json()
    assert answer["eligible"] is False
    assert "1,000 followers" in answer["refusal"]
    refused = api(small).post(ME, {"topics": ["food"]}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_eligible"
    assert "1,000 followers" in refused.json()["error"]["message"]

    maker = creator()
    client = api(maker)
    joined = client.post(
        ME, {"topics": ["food", "travel"], "rate_post_minor": 25_000}, format="json"
    )
    assert joined.status_code == 200, joined.content
    kit = joined.json()["profile"]
    assert kit["followers"] == 5_000
    assert kit["topics"] == ["food", "travel"]
    assert kit["kit_refreshed_at"]
    assert kit["audience"]["viewers"] is None  # fewer viewers than the minimum: nothing shown
    for bad in (
        {"topics": ["knitting"]},
        {"rate_post_minor": -5},
        {"rate_post_minor": "9"},
        {"rate_post_minor": 2.5},
        {"status": "gone"},
    ):
        response = client.patch(ME, bad, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["message"]


def test_the_creators_steps_through_the_api_and_others_get_404() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    client = api(maker)
    url = f"/api/v1/marketplace/deals/{deal.pk}"
    shown = client.get(url).json()
    assert (shown["brand"], shown["fee_minor"], shown["state"]) == (org.name, 50_000, "invited")
    assert shown["messages"][0]["side"] == "system"

    stranger = api(opted_in())
    for method, tail, body in (
        ("get", "", None),
        ("post", "/accept", {}),
        ("post", "/message", {"body": "hi"}),
    ):
        response = getattr(stranger, method)(url + tail, body, format="json")
        assert response.status_code == 404, (tail, response.content)
        assert response.json()["error"]["code"] == "deal_not_found"
        assert APIClient().generic(method.upper(), url + tail).status_code == 401
    assert stranger.get("/api/v1/marketplace/deals").json()["results"] == []

    bad = client.post(url + "/counter", {"fee_minor": "lots"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_fee"
    assert client.post(url + "/fly", {}, format="json").status_code == 404
    assert client.post(url + "/accept", {}, format="json").json()["state"] == "accepted"
    assert client.post(url + "/accept", {}, format="json").status_code == 409
    post = draft_post(maker)
    drafted = client.post(url + "/draft", {"post_id": str(post.pk)}, format="json")
    assert drafted.json()["state"] == "draft_submitted", drafted.content
    # the creator cannot approve their own draft: approval is the brand's, in the portal
    assert client.post(url + "/publish", {}, format="json").status_code == 409
    Deal.objects.filter(pk=deal.pk).update(state=Deal.State.APPROVED)
    paid = client.post(url + "/publish", {}, format="json").json()
    assert paid["state"] == "paid"
    assert paid["creator_paid_micros"] == 450_000_000


def test_the_deals_list_costs_the_same_queries_for_one_or_many() -> None:
    org, admin = brand()
    maker = opted_in()
    client = api(maker)
    invite(org, admin, maker)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/marketplace/deals").json()["results"]) == 1
    for _ in range(4):
        invite(org, admin, maker)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get("/api/v1/marketplace/deals").json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_answers_conform_to_the_served_schema() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    token = sign_in(maker.username)
    for method, path, body in (
        ("GET", "/api/v1/marketplace/me", None),
        ("PATCH", "/api/v1/marketplace/me", {"rate_post_minor": 30_000}),
        ("GET", "/api/v1/marketplace/deals", None),
        ("GET", "/api/v1/marketplace/deals/{deal_id}", None),
        ("POST", "/api/v1/marketplace/deals/{deal_id}/{step}", {"fee_minor": 0}),
        ("POST", "/api/v1/marketplace/deals/{deal_id}/{step}", {"fee_minor": 70_000}),
    ):
        url = path.replace("{deal_id}", str(deal.pk)).replace("{step}", "counter")
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        response = call(method, url, token=token, **kwargs)
        assert response.status_code < 500
        served_schema()[path][method].validate_response(response)
