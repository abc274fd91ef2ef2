"""The subscription pages through Django's test client (the browser test walks one path in
Chromium; these check the refusals in words and the forms' effects)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.monetization.models import Subscription, SubscriptionTier
from apps.monetization.services import subscriptions as services
from apps.payments.providers import local
from tests.monetization.coin_helpers import adult

pytestmark = pytest.mark.django_db


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def said(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("price", ["-5", "abc", "4.999", "0", "100000", ""])
def test_the_studio_refuses_a_bad_price_in_words(price):
    creator = adult()
    answer = browser(creator).post("/studio/subscriptions", {"name": "Gold", "price": price},
                                   follow=True)
    assert answer.status_code == 200
    assert any("$0.99/month" in m or "monthly price" in m for m in said(answer)), said(answer)
    assert not SubscriptionTier.objects.exists()


def test_the_studio_offers_edits_and_archives_a_tier():
    creator = adult()
    client = browser(creator)
    client.post("/studio/subscriptions", {"name": "Gold", "price": "4.5", "perks": "Q&A"})
    tier = SubscriptionTier.objects.get(creator=creator)
    assert (tier.name, tier.price_minor, tier.perks) == ("Gold", 450, "Q&A")
    client.post("/studio/subscriptions", {"tier_id": str(tier.pk), "name": "Gold+",
                                          "price": "$6", "perks": ""})
    tier.refresh_from_db()
    assert (tier.name, tier.price_minor) == ("Gold+", 600)
    client.post("/studio/subscriptions", {"tier_id": str(tier.pk), "name": "Gold+",
                                          "price": "6", "archive": "1"})
    tier.refresh_from_db()
    assert tier.active is False
    stranger = browser(adult()).post("/studio/subscriptions",
                                     {"tier_id": str(tier.pk), "name": "Mine", "price": "1"},
                                     follow=True)
    assert "Tier not found." in said(stranger)
    tier.refresh_from_db()
    assert tier.name == "Gold+"
    minor = adult(date_of_birth=date.today().replace(year=date.today().year - 15))
    page = browser(minor).get("/studio/subscriptions").content.decode()
    assert "Offering subscriptions is for people 18 and over." in page


def test_subscribe_from_the_profile_then_cancel_and_resume():
    creator, fan = adult(username="luthier"), adult()
    services.tier_create(creator=creator, name="Workshop", price_minor=799)
    client = browser(fan)
    profile = client.get("/@luthier").content.decode()
    assert 'href="/@luthier/subscribe"' in profile
    page = client.get("/@luthier/subscribe").content.decode()
    assert "Workshop" in page
    assert "$7.99/month" in page
    tier = SubscriptionTier.objects.get(creator=creator)
    done = client.post("/@luthier/subscribe", {"tier_id": str(tier.pk),
                                               "payment_method": "pm_card_ok",
                                               "attempt": "a1"})
    assert done.status_code == 302
    assert done["Location"].startswith("/subscriptions#sub-")
    local.deliver()
    subscription = Subscription.objects.get(subscriber=fan)
    assert subscription.status == Subscription.Status.ACTIVE
    assert "Subscribed ✓" in client.get("/@luthier").content.decode()
    listing = client.get("/subscriptions").content.decode()
    assert "Renews on" in listing

    cancelled = client.post(f"/subscriptions/{subscription.pk}/cancel", follow=True)
    assert any(m.startswith("Cancelled: your access ends on") for m in said(cancelled))
    assert "Resume" in cancelled.content.decode()
    resumed = client.post(f"/subscriptions/{subscription.pk}/resume", follow=True)
    assert any(m.startswith("Renews on") for m in said(resumed))
    assert browser(adult()).post(f"/subscriptions/{subscription.pk}/cancel").status_code == 404
    assert client.post("/subscriptions/abc/cancel").status_code == 404


def test_refusals_on_the_subscribe_page_are_in_words():
    creator = adult(username="cooper")
    tier = services.tier_create(creator=creator, name="Barrel", price_minor=499)
    minor = adult(date_of_birth=date.today().replace(year=date.today().year - 16))
    page = browser(minor).get("/@cooper/subscribe").content.decode()
    assert "Paid subscriptions are for people 18 and over." in page
    refused = browser(minor).post("/@cooper/subscribe", {"tier_id": str(tier.pk),
                                                         "payment_method": "pm_card_ok"},
                                  follow=True)
    assert "Paid subscriptions are for people 18 and over." in said(refused)
    assert not Subscription.objects.exists()
    own = browser(creator).get("/@cooper/subscribe").content.decode()
    assert "You can&#x27;t subscribe to yourself." in own
    signed_out = browser(None).get("/@cooper/subscribe").content.decode()
    assert "Log in to subscribe" in signed_out
