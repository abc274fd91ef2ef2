"""The subscriptions API: bad input and other people's things are refused in the error shape
and in words, with nothing charged or created."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.monetization.models import Subscription, SubscriptionTier
from apps.monetization.services import subscriptions as services
from apps.payments.models import Payment
from apps.payments.providers import local
from apps.social.models import Block
from tests.monetization.coin_helpers import adult, client_for

pytestmark = pytest.mark.django_db

TIERS = "/api/v1/me/subscription-tiers"
SUBSCRIBE = "/api/v1/subscriptions"


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) >= {"code", "message", "fields"}
    assert body["message"]
    return body


def make_tier(creator: User, price: int = 499) -> SubscriptionTier:
    return services.tier_create(creator=creator, name="Gold", price_minor=price)


def subscribe(client: APIClient, tier: SubscriptionTier, **extra: Any) -> Any:
    body = {"tier_id": str(tier.pk), "payment_method": "pm_card_ok", **extra}
    return client.post(SUBSCRIBE, body, format="json")


@pytest.mark.parametrize("price", [-499, 0, 4.99, "499", True, None, 10**13, 98, 100_000])
def test_a_tier_price_must_be_whole_cents_in_range(price):
    creator = adult()
    answer = client_for(creator).post(TIERS, {"name": "Gold", "price_minor": price},
                                      format="json")
    assert answer.status_code == 400
    assert "price_minor" in error(answer)["fields"]
    assert not SubscriptionTier.objects.exists()


@pytest.mark.parametrize(("currency", "code"), [("XYZ", "invalid_currency"),
                                                ("EUR", "invalid_currency"),
                                                ("", "invalid_currency")])
def test_a_tier_currency_must_be_known_and_usd(currency, code):
    answer = client_for(adult()).post(TIERS, {"name": "Gold", "price_minor": 499,
                                              "currency": currency}, format="json")
    assert answer.status_code == 400
    assert error(answer)["code"] == code or "currency" in error(answer)["fields"]
    assert not SubscriptionTier.objects.exists()


def test_a_creator_sets_tiers_and_the_profile_lists_them():
    creator = adult(username="ceramicist")
    client = client_for(creator)
    made = client.post(TIERS, {"name": "  Studio   pass ", "price_minor": 999,
                               "perks": "Glaze recipes"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "Studio pass"
    assert made.json()["price_text"] == "$9.99/month"
    tier_id = made.json()["id"]
    cheaper = client.patch(f"{TIERS}/{tier_id}", {"price_minor": 799}, format="json")
    assert cheaper.json()["price_minor"] == 799
    listed = client_for(adult()).get("/api/v1/users/ceramicist/subscription-tiers")
    assert [t["id"] for t in listed.json()["tiers"]] == [tier_id]
    assert APIClient().get("/api/v1/users/ceramicist/subscription-tiers").status_code == 200
    archived = client.patch(f"{TIERS}/{tier_id}", {"active": False}, format="json")
    assert archived.json()["active"] is False
    assert client_for(adult()).get(
        "/api/v1/users/ceramicist/subscription-tiers").json()["tiers"] == []


def test_other_peoples_tiers_and_subscriptions_are_404():
    owner, stranger, fan = adult(), adult(), adult()
    tier = make_tier(owner)
    answer = client_for(stranger).patch(f"{TIERS}/{tier.pk}", {"price_minor": 199},
                                        format="json")
    assert answer.status_code == 404
    assert error(answer)["code"] == "not_found"
    assert SubscriptionTier.objects.get(pk=tier.pk).price_minor == 499
    started = subscribe(client_for(fan), tier).json()["subscription"]["id"]
    for path in (f"{SUBSCRIBE}/{started}", f"{SUBSCRIBE}/{started}/cancel",
                 f"{SUBSCRIBE}/{started}/resume"):
        call = client_for(stranger).get if path.endswith(started) else \
            client_for(stranger).post
        assert call(path).status_code == 404, path
        assert APIClient().post(path).status_code in (401, 403), path
    for raw in ("abc", "-1", "0", "99999999999999999999", "%00"):
        assert client_for(fan).get(f"{SUBSCRIBE}/{raw}").status_code == 404
        assert client_for(owner).patch(f"{TIERS}/{raw}", {}, format="json").status_code == 404
    # a creator's tiers: an account the caller may not see is a 404, as its profile is
    Block.objects.create(blocker=owner, blocked=stranger)
    hidden = client_for(stranger).get(f"/api/v1/users/{owner.username}/subscription-tiers")
    assert hidden.status_code == 404
    assert APIClient().get("/api/v1/users/%00/subscription-tiers").status_code == 404
    assert APIClient().patch(f"{TIERS}/{tier.pk}", {}, format="json").status_code in (401, 403)


def test_subscribing_to_oneself_a_blocked_creator_or_as_a_minor_is_refused():
    creator = adult(username="glassblower")
    tier = make_tier(creator)
    own = subscribe(client_for(creator), tier)
    assert (own.status_code, error(own)["code"]) == (400, "self_subscribe")

    blocked_fan = adult()
    Block.objects.create(blocker=creator, blocked=blocked_fan)
    refused = subscribe(client_for(blocked_fan), tier)
    assert refused.status_code == 404  # the creator's block is not named

    blocker_fan = adult()
    Block.objects.create(blocker=blocker_fan, blocked=creator)
    refused = subscribe(client_for(blocker_fan), tier)
    assert (refused.status_code, error(refused)["code"]) == (403, "blocked")
    assert "Unblock" in error(refused)["message"]

    minor = adult(date_of_birth=date.today().replace(year=date.today().year - 15))
    refused = subscribe(client_for(minor), tier)
    assert (refused.status_code, error(refused)["code"]) == (403, "under_18")
    assert error(refused)["message"] == "Paid subscriptions are for people 18 and over."

    unknown_age = adult(date_of_birth=None)
    assert error(subscribe(client_for(unknown_age), tier))["code"] == "age_unknown"

    minor_creator = adult(date_of_birth=date.today().replace(year=date.today().year - 16))
    refused = client_for(minor_creator).post(TIERS, {"name": "x", "price_minor": 499},
                                             format="json")
    assert (refused.status_code, error(refused)["code"]) == (403, "under_18")
    assert not Payment.objects.exists()
    assert not Subscription.objects.exists()


def test_a_private_creator_needs_an_approved_follow_first():
    creator = adult(is_private=True)
    tier = make_tier(creator)
    refused = subscribe(client_for(adult()), tier)
    assert (refused.status_code, error(refused)["code"]) == (409, "follow_first")


@pytest.mark.parametrize("body", [
    {"tier_id": "abc", "payment_method": "pm_card_ok"},
    {"tier_id": 1.5, "payment_method": "pm_card_ok"},
    {"tier_id": True, "payment_method": "pm_card_ok"},
    {"payment_method": "pm_card_ok"},
])
def test_malformed_subscribe_bodies_are_400(body):
    answer = client_for(adult()).post(SUBSCRIBE, body, format="json")
    assert answer.status_code == 400
    assert "tier_id" in error(answer)["fields"]


def test_archived_or_unknown_tiers_and_unknown_cards_are_refused():
    creator, fan = adult(), adult()
    tier = make_tier(creator)
    unknown_card = subscribe(client_for(fan), tier, payment_method="pm_made_up")
    assert unknown_card.status_code == 400
    assert "payment_method" in error(unknown_card)["fields"]
    assert not Subscription.objects.exists()  # rolled back with the refused payment
    services.tier_update(creator=creator, tier_id=tier.pk, active=False)
    assert subscribe(client_for(fan), tier).status_code == 404
    missing = client_for(fan).post(SUBSCRIBE, {"tier_id": "123456789",
                                               "payment_method": "pm_card_ok"}, format="json")
    assert missing.status_code == 404


def test_subscribe_honours_the_idempotency_key_and_refuses_a_second_subscription():
    creator, fan = adult(), adult()
    tier, other = make_tier(creator), make_tier(creator, price=999)
    client = client_for(fan)
    first = client.post(SUBSCRIBE, {"tier_id": str(tier.pk), "payment_method": "pm_card_ok"},
                        format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    again = client.post(SUBSCRIBE, {"tier_id": str(tier.pk), "payment_method": "pm_card_ok"},
                        format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["subscription"]["id"] == again.json()["subscription"]["id"]
    assert first.json()["subscription"]["status_text"] == \
        "Waiting for the provider to confirm your first payment."
    reused = client.post(SUBSCRIBE, {"tier_id": str(other.pk), "payment_method": "pm_card_ok"},
                         format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert (reused.status_code, error(reused)["code"]) == (422, "idempotency_key_reused")
    local.deliver()
    second = subscribe(client, other)
    assert (second.status_code, error(second)["code"]) == (409, "already_subscribed")
    assert Payment.objects.filter(user_id=fan.pk).count() == 1
    mine = client.get(SUBSCRIBE).json()["results"]
    assert [(s["status"], s["creator"]) for s in mine] == [("active", creator.username)]
    assert mine[0]["status_text"].startswith("Renews on ")


def test_cancel_and_resume_through_the_api():
    creator, fan = adult(), adult()
    client = client_for(fan)
    started = subscribe(client, make_tier(creator)).json()["subscription"]["id"]
    waiting = client.post(f"{SUBSCRIBE}/{started}/cancel")
    assert (waiting.status_code, error(waiting)["code"]) == (409, "payment_in_progress")
    local.deliver()
    cancelled = client.post(f"{SUBSCRIBE}/{started}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_at_period_end"] is True
    assert client.post(f"{SUBSCRIBE}/{started}/cancel").status_code == 200  # idempotent
    resumed = client.post(f"{SUBSCRIBE}/{started}/resume")
    assert resumed.json()["cancel_at_period_end"] is False
    refused = client.post(f"{SUBSCRIBE}/{started}/resume")
    assert (refused.status_code, error(refused)["code"]) == (409, "not_resumable")


def test_too_many_tiers_are_refused_in_words():
    creator = adult()
    for n in range(services.MAX_ACTIVE_TIERS):
        make_tier(creator, price=199 + n)
    refused = client_for(creator).post(TIERS, {"name": "One more", "price_minor": 499},
                                       format="json")
    assert (refused.status_code, error(refused)["code"]) == (409, "too_many_tiers")
