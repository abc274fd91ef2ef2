"""The creator's web pages: joining (refused in words, then the kit), the rates form, the
deals inbox and one deal walked through its steps (counter, accept, a refused and an
accepted draft, the brand's change request shown, publish, a message); another person's deal
is a 404; the inbox's query count does not grow with its rows."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.marketplace.models import CreatorProfile, Deal
from apps.marketplace.services import deals
from tests.factories import UserFactory
from tests.marketplace.helpers import brand, creator, draft_post, earnings, invite, opted_in

pytestmark = pytest.mark.django_db

KIT = "/studio/marketplace"


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_joining_is_refused_in_words_then_the_kit_and_rates_are_shown() -> None:
    small = UserFactory()
    page = web(small).get(KIT).content.decode()
    assert "data-refusal" in page
    assert "1,000 followers" in page
    refused = web(small).post(KIT, {"action": "join", "topics": ["food"]}, follow=True)
    assert "1,000 followers" in refused.content.decode()
    assert not CreatorProfile.objects.filter(user=small).exists()

    maker = creator()
    client = web(maker)
    assert "Join the marketplace" in client.get(KIT).content.decode()
    client.post(KIT, {"action": "join", "topics": ["food", "travel"], "rate": "250"})
    profile = CreatorProfile.objects.get(user=maker)
    assert (profile.topics, profile.rate_post_minor) == (["food", "travel"], 25_000)
    page = client.get(KIT).content.decode()
    assert 'data-kit="followers">5000<' in page
    assert "$250.00" in page
    assert "data-audience-hidden" in page
    for bad, words in (("-3", "whole number of cents"), ("2.555", "whole number of cents")):
        said = client.post(KIT, {"action": "save", "topics": ["food"], "rate": bad}, follow=True)
        assert words in said.content.decode(), bad
    said = client.post(
        KIT,
        {"action": "save", "topics": ["food", "art", "cars", "dance", "music", "diy"]},
        follow=True,
    )
    assert "at most 5 topics" in said.content.decode()
    client.post(KIT, {"action": "save", "topics": ["art"], "rate": "", "status": "paused"})
    profile.refresh_from_db()
    assert (profile.topics, profile.rate_post_minor, profile.status) == (["art"], None, "paused")


def test_a_creator_walks_a_deal_through_the_pages() -> None:
    org, admin = brand(name="Acme Foods")
    maker = opted_in()
    deal = invite(org, admin, maker)
    client = web(maker)
    inbox = client.get("/studio/marketplace/deals").content.decode()
    assert f'data-deal="{deal.pk}"' in inbox
    assert "Acme Foods" in inbox
    base = f"/studio/marketplace/deals/{deal.pk}"
    page = client.get(base).content.decode()
    assert "Accept for $500.00" in page
    assert "you get <strong>$450.00</strong>" in page

    said = client.post(f"{base}/counter", {"fee": "lots"}, follow=True).content.decode()
    assert "whole number of cents" in said
    client.post(f"{base}/counter", {"fee": "600"})
    assert Deal.objects.get(pk=deal.pk).fee_minor == 60_000
    deals.deal_counter_answer(user=admin, deal_id=deal.pk, accept=False, fee_minor=55_000)
    client.post(f"{base}/accept")
    assert Deal.objects.get(pk=deal.pk).state == Deal.State.ACCEPTED

    bare = draft_post(maker, caption="no tags here")
    good = draft_post(maker)
    page = client.get(base).content.decode()
    assert f'value="{good.pk}"' in page
    assert f'value="{bare.pk}"' in page
    said = client.post(f"{base}/draft", {"post_id": str(bare.pk)}, follow=True).content.decode()
    assert "must carry the brief&#x27;s hashtags: #ad" in said
    client.post(f"{base}/draft", {"post_id": str(good.pk)})
    deals.deal_request_changes(user=admin, deal_id=deal.pk, notes="Show the dessert.")
    page = client.get(base).content.decode()
    assert "data-change-requests" in page
    assert "Show the dessert." in page
    client.post(f"{base}/draft", {"post_id": str(good.pk)})
    said = client.post(f"{base}/publish", follow=True).content.decode()
    assert "you can&#x27;t publish" in said  # not approved yet: refused in words
    deals.deal_approve(user=admin, deal_id=deal.pk)
    client.post(f"{base}/publish")
    assert Deal.objects.get(pk=deal.pk).state == Deal.State.PAID
    assert earnings(maker) == 495_000_000  # $550 less the 10 % platform fee
    client.post(f"{base}/message", {"body": "Thanks!"})
    page = client.get(base).content.decode()
    assert "data-paid" in page
    assert "Thanks!" in page
    assert "Paid partnership with @Acme" in page


def test_another_persons_deal_is_a_404_and_the_inbox_stays_flat() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    stranger = web(opted_in())
    for path in (f"/studio/marketplace/deals/{deal.pk}", "/studio/marketplace/deals/x"):
        assert stranger.get(path).status_code == 404
    assert stranger.post(f"/studio/marketplace/deals/{deal.pk}/accept").status_code == 404
    assert web(admin).get(f"/studio/marketplace/deals/{deal.pk}").status_code == 404
    assert web(maker).post(f"/studio/marketplace/deals/{deal.pk}/nope").status_code == 404
    assert Deal.objects.get(pk=deal.pk).state == Deal.State.INVITED
    assert Client().get("/studio/marketplace").status_code == 302

    client = web(maker)
    client.get("/studio/marketplace/deals")  # the session's and the site's first reads
    with CaptureQueriesContext(connection) as one:
        client.get("/studio/marketplace/deals")
    for _ in range(3):
        invite(*brand(), maker)
    with CaptureQueriesContext(connection) as four:
        assert client.get("/studio/marketplace/deals").content.decode().count("data-deal=") == 4
    assert len(four) == len(one)


def test_the_inbox_pages_back_through_older_deals(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.web import views_marketplace

    monkeypatch.setattr(views_marketplace, "INBOX_PAGE", 2)
    org, admin = brand()
    maker = opted_in()
    made = [invite(org, admin, maker).pk for _ in range(5)]
    client = web(maker)
    seen: list[int] = []
    page = client.get("/studio/marketplace/deals").content.decode()
    while True:
        seen += [int(i) for i in re.findall(r'data-deal="(\d+)"', page)]
        older = re.search(r'href="\?before=(\d+)" data-older', page)
        if older is None:
            break
        page = client.get(f"/studio/marketplace/deals?before={older.group(1)}").content.decode()
        assert "Newest deals" in page
    assert seen == sorted(made, reverse=True)  # each deal once, newest first
    assert client.get("/studio/marketplace/deals?before=nope").status_code == 200
