"""The measurement endpoints over HTTP: the events API, the click redirect, the pixel and
the conversions API (its key, dedupe across sources, attribution windows), bad input as 4xx
in the error shape, throttles."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.ads.measurement.conversions import conversion_key_create, conversion_key_revoke
from apps.ads.measurement.events import Caller, ad_event_record
from apps.ads.models import Membership
from apps.ads.models.measurement import AdConversion, AdEvent, InvalidReason
from apps.core.errors import ForbiddenError
from tests.ads.measurement.conftest import BROWSER_UA, World, make_world, serve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _client(user: Any = None) -> APIClient:
    client = APIClient(HTTP_USER_AGENT=BROWSER_UA)
    if user is not None:
        client.force_authenticate(user)
    return client


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


# --- POST /api/v1/ads/events ------------------------------------------------------------------


def test_the_events_api_records_with_the_token_only(world: World) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer, price=2_500)

    response = _client(viewer).post(
        "/api/v1/ads/events",
        {"token": token, "event": "impression", "price_micros": 1, "ad_id": "1"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "recorded"}
    event = AdEvent.objects.get()
    assert (event.kind, event.price_micros, event.ad_id) == (
        "impression",
        2_500,
        world.ads["cpm"].pk,
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": "x", "event": "impression"},
        {"token": "a" * 2000, "event": "impression"},
        {"token": "TOKEN", "event": "purchase"},
        {"token": "TOKEN", "event": "click"},
        {"token": ["TOKEN"], "event": "impression"},
    ],
)
def test_bad_event_bodies_are_400s_in_the_error_shape(world: World, body: dict[str, Any]) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer)
    body = {
        k: (token if v == "TOKEN" else [token] if v == ["TOKEN"] else v) for k, v in body.items()
    }

    response = _client(viewer).post("/api/v1/ads/events", body, format="json")

    assert response.status_code == 400
    _error(response)
    assert not AdEvent.objects.exists()


def test_an_ad_that_is_gone_is_a_404(world: World) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer)
    world.ads["cpm"].delete()

    response = _client(viewer).post(
        "/api/v1/ads/events", {"token": token, "event": "impression"}, format="json"
    )

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@override_settings(SWIPEME_THROTTLE_ADS_EVENTS="3/min")
def test_the_events_api_is_throttled_per_viewer(world: World) -> None:
    viewer = UserFactory()
    client = _client(viewer)
    codes = [
        client.post(
            "/api/v1/ads/events",
            {"token": serve(world.ads["cpm"], viewer=viewer), "event": "impression"},
            format="json",
        ).status_code
        for _ in range(5)
    ]

    assert codes == [200, 200, 200, 429, 429]
    assert AdEvent.objects.count() == 3


# --- the click redirect ------------------------------------------------------------------------


def test_a_click_is_recorded_and_redirected_with_its_click_id(world: World) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpc"], viewer=viewer, price=75_000)
    ad_event_record(
        token=token, kind="impression", caller=Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    )
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    client.force_login(viewer)

    response = client.get(f"/ads/c/{token}")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example.com", "/spring")
    query = parse_qs(target.query)
    click = AdEvent.objects.get(kind="click")
    assert query == {"utm": ["swipe"], "swpclid": [click.click_id]}
    assert click.price_micros == 75_000
    assert response["Cache-Control"] == "no-store"


def test_an_invalid_click_still_goes_to_the_landing_page_unbilled(world: World) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpc"], viewer=viewer)  # no impression first

    response = Client(HTTP_USER_AGENT=BROWSER_UA).get(f"/ads/c/{token}")

    assert response.status_code == 302
    assert "swpclid" not in response["Location"]
    click = AdEvent.objects.get()
    assert click.invalid_reason == InvalidReason.VIEWER_MISMATCH
    assert click.price_micros == 0


def test_a_link_preview_head_is_not_a_click(world: World) -> None:
    token = serve(world.ads["cpc"], viewer=UserFactory())

    response = Client(HTTP_USER_AGENT=BROWSER_UA).head(f"/ads/c/{token}")

    assert response.status_code == 302
    assert not AdEvent.objects.exists()


def test_a_changed_click_link_says_so(world: World) -> None:
    token = serve(world.ads["cpc"], viewer=UserFactory())

    response = Client().get(f"/ads/c/{token[:-4]}xxxx")

    assert response.status_code == 400
    assert b"This ad link doesn" in response.content
    assert not AdEvent.objects.exists()


# --- conversions -------------------------------------------------------------------------------


def _clicked(world: World, viewer: Any, *, ago: timedelta) -> AdEvent:
    start = timezone.now() - ago
    token = serve(world.ads["cpc"], viewer=viewer, served_at=start)
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    ad_event_record(token=token, kind="impression", caller=me, now=start + timedelta(seconds=1))
    return ad_event_record(
        token=token, kind="click", caller=me, now=start + timedelta(seconds=2)
    ).event


def _key(world: World) -> str:
    return conversion_key_create(user=world.admin, org_id=world.org.pk, name="shop server")[1]


def _send(key: str | None, *conversions: dict[str, Any]) -> Any:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.post("/api/v1/ads/conversions", {"conversions": list(conversions)}, format="json")


def test_conversions_need_a_live_key_of_the_org(world: World) -> None:
    key = _key(world)
    row = world.org.conversion_keys.get()
    conversion = {"event_id": "o-1", "event": "purchase"}

    missing = _send(None, conversion)
    wrong = _send(key[:-2] + "zz", conversion)
    conversion_key_revoke(user=world.admin, key=row)
    revoked = _send(key, conversion)

    assert [missing.status_code, wrong.status_code, revoked.status_code] == [401, 401, 401]
    for response in (missing, wrong, revoked):
        _error(response)
    assert not AdConversion.objects.exists()


def test_only_an_orgs_admin_makes_keys(world: World) -> None:
    analyst = UserFactory()
    Membership.objects.create(org=world.org, user=analyst, role=Membership.Role.ANALYST)
    with pytest.raises(ForbiddenError):
        conversion_key_create(user=analyst, org_id=world.org.pk, name="mine")


def test_a_conversion_after_a_click_is_attributed_to_it_once(world: World) -> None:
    viewer = UserFactory()
    click = _clicked(world, viewer, ago=timedelta(hours=5))
    key = _key(world)
    purchase = {
        "event_id": "order-77",
        "event": "purchase",
        "click_id": click.click_id,
        "value_micros": 19_990_000,
    }

    first = _send(key, purchase, {"event_id": "bad id", "event": "purchase"})
    again = _send(key, purchase)
    pixel = Client().get(
        "/ads/px",
        {
            "pid": str(world.org.pk),
            "ev": "purchase",
            "eid": "order-77",
            "clid": str(click.click_id),
        },
    )

    assert first.status_code == 200, first.content
    results = first.json()["results"]
    assert results[0] == {
        "index": 0,
        "event_id": "order-77",
        "status": "recorded",
        "attribution": "click",
        "error": None,
    }
    assert results[1]["status"] == "rejected"
    assert set(results[1]["error"]["fields"]) == {"event_id"}
    assert again.json()["results"][0]["status"] == "duplicate"
    assert pixel.status_code == 200
    assert pixel["Content-Type"] == "image/gif"
    conversion = AdConversion.objects.get()
    assert conversion.attributed_event_id == click.pk
    assert conversion.ad_id == world.ads["cpc"].pk


def test_attribution_falls_back_to_the_last_view_then_nothing(world: World) -> None:
    viewer = UserFactory()
    old_click = _clicked(world, viewer, ago=timedelta(days=10))  # 8 days before "c"
    start = timezone.now() - timedelta(hours=3)
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    ad_event_record(
        token=serve(world.ads["cpm"], viewer=viewer, served_at=start),
        kind="impression",
        caller=me,
        now=start + timedelta(seconds=1),
    )
    email = hashlib.sha256(viewer.email.lower().encode()).hexdigest()
    stranger = hashlib.sha256(b"nobody@example.com").hexdigest()
    key = _key(world)

    response = _send(
        key,
        {"event_id": "a", "event": "sign_up", "email_sha256": email},
        {"event_id": "b", "event": "sign_up", "email_sha256": stranger},
        {
            "event_id": "c",
            "event": "sign_up",
            "click_id": old_click.click_id,
            "occurred_at": (timezone.now() - timedelta(days=2)).isoformat(),
        },
    )

    assert [r["attribution"] for r in response.json()["results"]] == ["view", "none", "none"]


def test_the_pixel_refuses_bad_input_in_the_error_shape(world: World) -> None:
    client = Client()
    unknown = client.get("/ads/px", {"pid": "12345", "ev": "purchase", "eid": "x"})
    no_id = client.get("/ads/px", {"pid": str(world.org.pk), "ev": "purchase"})
    bad_value = client.get(
        "/ads/px", {"pid": str(world.org.pk), "ev": "purchase", "eid": "x", "value": "-5"}
    )

    assert [unknown.status_code, no_id.status_code, bad_value.status_code] == [404, 400, 400]
    assert set(_error(no_id)["fields"]) == {"event_id"}
    assert set(_error(bad_value)["fields"]) == {"value_micros"}
    assert not AdConversion.objects.exists()


def test_too_many_conversions_at_once_are_refused(world: World) -> None:
    key = _key(world)
    response = _send(key, *({"event_id": f"e{n}", "event": "purchase"} for n in range(101)))
    assert response.status_code == 400
    assert _error(response)["fields"] == {"conversions": ["At most 100."]}
    assert not make_world("Other").org.conversion_keys.exists()
