"""The brand's portal pages: search → shortlist → invite → (the creator accepts and drafts)
→ approve → (published, paid) → the deal's report; refusals shown in words; another org's
deal and an analyst's writes refused."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.ads.models import Membership
from apps.marketplace.models import Deal, Shortlist
from apps.marketplace.services import deals
from tests.factories import UserFactory
from tests.marketplace.helpers import brand, draft_post, earnings, opted_in

pytestmark = pytest.mark.django_db


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_a_brand_finds_invites_and_approves_through_the_portal() -> None:
    org, admin = brand()
    maker = opted_in()
    other = opted_in()
    client = web(admin)
    base = f"/ads/o/{org.pk}"
    page = client.get(
        f"{base}/creators",
        {"topic": "food", "min_followers": "1000", "max_price": "450", "min_engagement": "x"},
    )
    assert page.status_code == 200
    assert f'data-creator="{maker.username}"' in page.content.decode()
    assert (
        client.get(f"{base}/creators", {"min_followers": "999999"})
        .content.decode()
        .count("data-creator=")
        == 0
    )
    assert client.post(f"{base}/creators/{maker.pk}/shortlist").status_code == 302
    assert Shortlist.objects.filter(org=org, creator=maker).exists()

    form = {
        "title": "Spring menu",
        "brief": "Cook our spring menu.",
        "posts": "1",
        "hashtags": "#ad",
        "fee": "500",
    }
    refused = client.post(f"{base}/creators/{maker.pk}/invite", {**form, "fee": "-5"})
    assert refused.status_code == 400
    assert "whole number of cents" in refused.content.decode()
    sent = client.post(f"{base}/creators/{maker.pk}/invite", form)
    assert sent.status_code == 302
    deal = Deal.objects.get(org=org, creator=maker)
    assert deal.fee_minor == 50_000

    deals.deal_accept(user=maker, deal_id=deal.pk)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=draft_post(maker).pk)
    shown = client.get(f"{base}/deals/{deal.pk}").content.decode()
    assert "Approve the draft" in shown
    assert client.post(f"{base}/deals/{deal.pk}/approve").status_code == 302
    again = client.post(f"{base}/deals/{deal.pk}/approve", follow=True).content.decode()
    assert "you can&#x27;t approve the draft now" in again  # said in words, nothing moved
    deals.deal_publish(user=maker, deal_id=deal.pk)
    assert earnings(maker) == 450_000_000
    shown = client.get(f"{base}/deals/{deal.pk}").content.decode()
    assert "data-deal-report" in shown
    assert "Paid partnership with @" in shown
    deal.refresh_from_db()
    post_page = Client().get(f"/@{maker.username}/video/{deal.draft_post_id}")
    assert post_page.status_code == 200
    assert f"Paid partnership with @{org.name}" in post_page.content.decode()
    assert client.get(f"{base}/deals").status_code == 200
    assert other.username not in client.get(f"{base}/deals").content.decode()


def test_another_orgs_deal_and_an_analysts_writes_are_refused() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = deals.deal_invite(
        user=admin,
        org=org,
        creator_id=maker.pk,
        title="T",
        brief="B",
        deliverables={},
        fee_minor=10_000,
    )
    other_org, other_admin = brand()
    assert web(other_admin).get(f"/ads/o/{org.pk}/deals/{deal.pk}").status_code == 404
    assert web(other_admin).get(f"/ads/o/{other_org.pk}/deals/{deal.pk}").status_code == 404
    assert web(other_admin).post(f"/ads/o/{other_org.pk}/deals/{deal.pk}/cancel").status_code == 404
    analyst = UserFactory()
    Membership.objects.create(org=org, user=analyst, role=Membership.Role.ANALYST)
    refused = web(analyst).post(f"/ads/o/{org.pk}/deals/{deal.pk}/cancel")
    assert refused.status_code == 403
    assert "Your role cannot" in refused.content.decode()
    assert web(analyst).get(f"/ads/o/{org.pk}/deals/{deal.pk}").status_code == 200
    assert Deal.objects.get(pk=deal.pk).state == Deal.State.INVITED
    assert web(maker).get(f"/ads/o/{org.pk}/deals/{deal.pk}").status_code == 404
