"""The advertiser portal's pages with the Django test client: sign-up (adults only), what
each role sees and may do, another org's ids are 404s, bad input is shown beside the field
and writes nothing, CSRF is enforced, writes are throttled, the estimate and the CSV."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.models import Ad, AdGroup, AdvertiserOrg, Campaign, CustomAudience, Membership
from apps.ads.models.funding import Topup
from apps.ads.models.measurement import AdDailyStats
from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NO_LANDING_FETCH = override_settings(SWIPEME_ADS_LANDING_CHECK=False)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def world() -> dict[str, Any]:
    """An org with an admin and one member of every other role, a campaign, a group, an ad;
    and another org with its own campaign, group and ad."""
    members: dict[str, Any] = {
        role: UserFactory(username=f"{role}_m") for role in ("editor", "analyst", "billing")
    }
    org, admin = org_with(members, name="Acme")
    campaign = campaign_for(org, admin)
    group = group_for(campaign, admin)
    ad = ad_for(group, admin)
    other, other_admin = org_with(name="Rival")
    other_campaign = campaign_for(other, other_admin, name="Rival spring")
    other_group = group_for(other_campaign, other_admin)
    other_ad = ad_for(other_group, other_admin)
    return {
        "org": org,
        "admin": admin,
        **members,
        "campaign": campaign,
        "group": group,
        "ad": ad,
        "other": other,
        "other_admin": other_admin,
        "other_campaign": other_campaign,
        "other_group": other_group,
        "other_ad": other_ad,
    }


def campaign_post(**overrides: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(hours=1)
    data = {
        "name": "Summer",
        "objective": "video_views",
        "budget_kind": "daily",
        "budget": "25.50",
        "start_at": start.strftime("%Y-%m-%dT%H:%M"),
        "end_at": "",
        "inventory_tier": "standard",
    }
    data.update(overrides)
    return data


def group_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Adults in FR",
        "bid_strategy": "cpm",
        "bid": "4.20",
        "target_cost": "",
        "frequency_cap_day": "3",
        "frequency_cap_week": "10",
        "placements": ["for_you"],
        "days": ["0", "1", "2", "3", "4"],
        "hour_from": "8",
        "hour_to": "22",
        "countries": ["FR"],
        "regions": "",
        "languages": ["fr"],
        "age_bands": ["18-24", "25-34"],
        "interests": ["food"],
        "devices": ["ios", "android"],
        "topics": ["food", "travel"],
    }
    data.update(overrides)
    return data


# --- sign-up and home ---------------------------------------------------------------------


def test_an_adult_signs_up_and_becomes_the_orgs_admin() -> None:
    user = UserFactory()
    client = client_for(user)
    assert client.get("/ads/").status_code == 200
    response = client.post(
        "/ads/signup",
        {"name": "Bakery Co", "country": "FR", "currency": "EUR", "timezone": "Europe/Paris"},
    )
    org = AdvertiserOrg.objects.get(name="Bakery Co")
    assert response.status_code == 302
    assert response["Location"] == f"/ads/o/{org.pk}/"
    assert Membership.objects.get(org=org, user=user).role == "admin"
    assert (org.currency, org.timezone) == ("EUR", "Europe/Paris")
    page = client.get("/ads/").content.decode()
    assert "Bakery Co" in page


def test_a_minor_cannot_sign_up_and_is_told_why() -> None:
    today = timezone.localdate()
    minor = UserFactory(date_of_birth=date(today.year - 16, 1, 1))
    client = client_for(minor)
    page = client.get("/ads/signup").content.decode()
    assert "you must be 18 or older" in page
    response = client.post(
        "/ads/signup", {"name": "Teen Co", "country": "US", "currency": "USD", "timezone": "UTC"}
    )
    assert response.status_code == 403
    assert "you must be 18 or older" in response.content.decode()
    assert not AdvertiserOrg.objects.filter(name="Teen Co").exists()


def test_signup_errors_are_shown_beside_the_fields() -> None:
    client = client_for(UserFactory())
    response = client.post(
        "/ads/signup", {"name": "", "country": "ZZ", "currency": "GBP", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) >= {"name", "country", "currency", "timezone"}
    assert AdvertiserOrg.objects.count() == 0


def test_signed_out_visitors_are_sent_to_log_in() -> None:
    response = Client().get("/ads/signup")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/ads/signup")


# --- another org's ids and unknown ids ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/ads/o/{other}/",
        "/ads/o/{other}/members",
        "/ads/o/{other}/billing",
        "/ads/o/{other}/audiences",
        "/ads/o/{other}/reports",
        "/ads/o/{other}/reports.csv",
        "/ads/o/{org}/campaigns/{other_campaign}",
        "/ads/o/{org}/campaigns/{other_campaign}/edit",
        "/ads/o/{other}/campaigns/{other_campaign}",
        "/ads/o/{org}/adgroups/{other_group}",
        "/ads/o/{org}/adgroups/{other_group}/edit",
        "/ads/o/{org}/adgroups/{other_group}/ads/new",
        "/ads/o/{org}/ads/{other_ad}",
        "/ads/o/{org}/ads/{other_ad}/edit",
        "/ads/o/{org}/campaigns/nope",
        "/ads/o/nope/",
        "/ads/o/999999999999/",
    ],
)
def test_another_orgs_ids_are_not_found(path: str) -> None:
    w = world()
    url = path.format(
        org=w["org"].pk,
        other=w["other"].pk,
        other_campaign=w["other_campaign"].pk,
        other_group=w["other_group"].pk,
        other_ad=w["other_ad"].pk,
    )
    assert client_for(w["admin"]).get(url).status_code == 404


def test_writes_to_another_orgs_objects_are_not_found_and_change_nothing() -> None:
    w = world()
    client = client_for(w["admin"])
    org, other_ad = w["org"].pk, w["other_ad"]
    posts = [
        (f"/ads/o/{org}/campaigns/{w['other_campaign'].pk}/edit", campaign_post(name="Hijack")),
        (f"/ads/o/{org}/campaigns/{w['other_campaign'].pk}/status", {"status": "active"}),
        (f"/ads/o/{org}/adgroups/{w['other_group'].pk}/edit", group_post(name="Hijack")),
        (f"/ads/o/{org}/ads/{other_ad.pk}/submit", {}),
        (f"/ads/o/{w['other'].pk}/members", {"identifier": "editor_m", "role": "admin"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert Campaign.objects.get(pk=w["other_campaign"].pk).name == "Rival spring"
    assert Campaign.objects.get(pk=w["other_campaign"].pk).status == "draft"
    assert AdGroup.objects.get(pk=w["other_group"].pk).name == "Group"
    assert Ad.objects.get(pk=other_ad.pk).review_state == "draft"
    assert not Membership.objects.filter(org=w["other"], user=w["editor"]).exists()


def test_a_member_of_two_orgs_cannot_see_one_orgs_campaign_under_the_others_url() -> None:
    w = world()
    Membership.objects.create(org=w["other"], user=w["admin"], role="admin")
    client = client_for(w["admin"])
    assert (
        client.get(f"/ads/o/{w['other'].pk}/campaigns/{w['other_campaign'].pk}").status_code == 200
    )
    assert client.get(f"/ads/o/{w['org'].pk}/campaigns/{w['other_campaign'].pk}").status_code == 404


# --- roles ------------------------------------------------------------------------------------


def test_an_analyst_reads_but_changes_nothing() -> None:
    w = world()
    client = client_for(w["analyst"])
    org = w["org"].pk
    for url in (
        f"/ads/o/{org}/",
        f"/ads/o/{org}/campaigns/{w['campaign'].pk}",
        f"/ads/o/{org}/adgroups/{w['group'].pk}",
        f"/ads/o/{org}/ads/{w['ad'].pk}",
        f"/ads/o/{org}/reports",
        f"/ads/o/{org}/members",
        f"/ads/o/{org}/audiences",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"New campaign" not in response.content
        assert b">Edit<" not in response.content
    refused = client.post(f"/ads/o/{org}/campaigns/new", campaign_post())
    assert refused.status_code == 403
    assert "cannot create or change campaigns" in refused.content.decode()
    assert client.get(f"/ads/o/{org}/campaigns/new").status_code == 403
    assert (
        client.post(
            f"/ads/o/{org}/billing", {"amount": "50", "payment_method": "pm_card_ok"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/ads/o/{org}/members", {"identifier": "someone", "role": "admin"}).status_code
        == 403
    )
    assert Campaign.objects.filter(org=w["org"]).count() == 1
    assert Topup.objects.count() == 0


def test_billing_funds_but_does_not_edit_campaigns() -> None:
    w = world()
    client = client_for(w["billing"])
    org = w["org"].pk
    page = client.get(f"/ads/o/{org}/billing").content.decode()
    assert "Add funds" in page
    assert (
        client.post(
            f"/ads/o/{org}/campaigns/{w['campaign'].pk}/edit", campaign_post(name="Nope")
        ).status_code
        == 403
    )
    response = client.post(
        f"/ads/o/{org}/billing", {"amount": "50.00", "payment_method": "pm_card_ok"}
    )
    assert response.status_code == 302
    topup = Topup.objects.get(org=w["org"])
    assert (topup.amount_minor, topup.currency, topup.created_by_id) == (
        5000,
        "USD",
        w["billing"].pk,
    )


def test_an_editor_cannot_manage_members_or_fund() -> None:
    w = world()
    client = client_for(w["editor"])
    org = w["org"].pk
    members_page = client.get(f"/ads/o/{org}/members").content.decode()
    assert "Add a member" not in members_page
    assert client.get(f"/ads/o/{org}/billing").status_code == 200  # reads the balance
    assert "Add funds" not in client.get(f"/ads/o/{org}/billing").content.decode()
    assert (
        client.post(
            f"/ads/o/{org}/billing", {"amount": "10", "payment_method": "pm_card_ok"}
        ).status_code
        == 403
    )
    member = Membership.objects.get(org=w["org"], user=w["analyst"])
    assert (
        client.post(
            f"/ads/o/{org}/members/{member.pk}", {f"m{member.pk}-role": "admin"}
        ).status_code
        == 403
    )
    member.refresh_from_db()
    assert member.role == "analyst"


def test_the_admin_adds_changes_and_removes_members() -> None:
    w = world()
    newcomer = UserFactory(username="newcomer")
    client = client_for(w["admin"])
    org = w["org"].pk
    assert (
        client.post(
            f"/ads/o/{org}/members", {"identifier": "@newcomer", "role": "analyst"}
        ).status_code
        == 302
    )
    member = Membership.objects.get(org=w["org"], user=newcomer)
    assert member.role == "analyst"
    assert (
        client.post(
            f"/ads/o/{org}/members/{member.pk}", {f"m{member.pk}-role": "editor"}
        ).status_code
        == 302
    )
    member.refresh_from_db()
    assert member.role == "editor"
    assert client.post(f"/ads/o/{org}/members/{member.pk}", {"remove": "1"}).status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    unknown = client.post(f"/ads/o/{org}/members", {"identifier": "nobody_here", "role": "analyst"})
    assert unknown.status_code == 400
    assert unknown.context["invite"].errors["identifier"]


def test_the_last_admin_cannot_step_down_and_is_told_why() -> None:
    w = world()
    client = client_for(w["admin"])
    me = Membership.objects.get(org=w["org"], user=w["admin"])
    response = client.post(
        f"/ads/o/{w['org'].pk}/members/{me.pk}", {f"m{me.pk}-role": "analyst"}, follow=True
    )
    assert "needs at least one admin" in response.content.decode()
    me.refresh_from_db()
    assert me.role == "admin"


# --- campaign, ad group, ad -------------------------------------------------------------------


def test_an_editor_creates_a_campaign_with_money_in_micros() -> None:
    w = world()
    client = client_for(w["editor"])
    response = client.post(f"/ads/o/{w['org'].pk}/campaigns/new", campaign_post())
    campaign = Campaign.objects.get(org=w["org"], name="Summer")
    assert response.status_code == 302
    assert response["Location"] == f"/ads/o/{w['org'].pk}/campaigns/{campaign.pk}/adgroups/new"
    assert campaign.budget_micros == 25_500_000
    assert (campaign.objective, campaign.budget_kind, campaign.status) == (
        "video_views",
        "daily",
        "draft",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"budget": "-5"}, "budget"),
        ({"budget": "abc"}, "budget"),
        ({"budget": "1e12"}, "budget"),
        ({"budget": "0.5"}, "budget"),  # below the minimum daily budget (the service's rule)
        ({"budget": "99999999"}, "budget"),  # above the service's maximum
        ({"budget_kind": "lifetime", "end_at": ""}, "end_at"),
        ({"objective": "fame"}, "objective"),
        ({"name": ""}, "name"),
        ({"start_at": "tomorrow"}, "start_at"),
    ],
)
def test_bad_campaign_input_is_shown_beside_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    w = world()
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/campaigns/new", campaign_post(**overrides)
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="field-errors"' in response.content.decode()
    assert Campaign.objects.filter(org=w["org"]).count() == 1


def test_an_ad_group_with_targeting_and_day_parting() -> None:
    w = world()
    client = client_for(w["admin"])
    url = f"/ads/o/{w['org'].pk}/campaigns/{w['campaign'].pk}/adgroups/new"
    page = client.get(url)
    assert page.status_code == 200
    assert "Estimated audience" in page.content.decode()
    response = client.post(url, group_post())
    group = AdGroup.objects.get(campaign=w["campaign"], name="Adults in FR")
    assert response.status_code == 302
    assert group.bid_micros == 4_200_000
    assert (group.frequency_cap_day, group.frequency_cap_week) == (3, 10)
    assert group.hours_of_week == [d * 24 + h for d in range(5) for h in range(8, 22)]
    assert (group.countries, group.languages, group.age_bands, group.interests) == (
        ["FR"],
        ["fr"],
        ["18-24", "25-34"],
        ["food"],
    )
    assert sorted(group.devices) == ["android", "ios"]
    assert group.topics == ["food", "travel"]
    detail = client.get(f"/ads/o/{w['org'].pk}/adgroups/{group.pk}").content.decode()
    assert "Mon, Tue, Wed, Thu, Fri, 08:00 to 22:00" in detail
    assert "food, travel" in detail
    edit = client.get(f"/ads/o/{w['org'].pk}/adgroups/{group.pk}/edit").content.decode()
    assert 'name="topics" value="travel"' in edit
    assert "Content topics" in edit


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"bid": "-1"}, "bid"),
        ({"bid": ""}, "bid"),
        ({"bid": "5000"}, "bid"),  # above the service's maximum bid
        ({"bid_strategy": "target_cost", "bid": "", "target_cost": ""}, "target_cost"),
        ({"frequency_cap_day": "0"}, "frequency_cap_day"),
        ({"frequency_cap_day": "5", "frequency_cap_week": "2"}, "frequency_cap_week"),
        ({"hour_from": "22", "hour_to": "8"}, "hour_to"),
        ({"regions": "california"}, "regions"),
        ({"regions": "US-CA"}, "regions"),  # outside the targeted countries (FR)
        ({"age_bands": ["13-17"], "interests": ["food"]}, "age_bands"),  # minors: no interests
        ({"countries": ["XX"]}, "countries"),
        ({"topics": ["knitting"]}, "topics"),
    ],
)
def test_bad_ad_group_input_is_shown_beside_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    w = world()
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/campaigns/{w['campaign'].pk}/adgroups/new", group_post(**overrides)
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert AdGroup.objects.filter(campaign=w["campaign"]).count() == 1


def test_another_orgs_audience_cannot_be_targeted() -> None:
    w = world()
    theirs = CustomAudience.objects.create(
        org=w["other"], name="Their list", state="ready", matched_count=500
    )
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/campaigns/{w['campaign'].pk}/adgroups/new",
        group_post(custom_audiences=[str(theirs.pk)]),
    )
    assert response.status_code == 400
    assert "custom_audiences" in response.context["form"].errors
    assert not AdGroup.objects.filter(custom_audiences=theirs).exists()


def test_the_estimate_answers_json_and_refuses_bad_targeting() -> None:
    w = world()
    for n in range(3):
        UserFactory(username=f"fr{n}", country="FR")
    client = client_for(w["analyst"])  # reading is enough
    url = f"/ads/o/{w['org'].pk}/estimate"
    found = client.get(url, {"countries": ["FR"]})
    assert found.status_code == 200
    body = found.json()
    assert body["ok"] is True
    assert body["below_minimum"] is True  # 3 people: below the minimum, never the number
    assert "fewer than" in body["text"]
    bad = client.get(url, {"countries": ["XX"]})
    assert bad.status_code == 400
    assert "countries" in bad.json()["fields"]
    assert client_for(w["other_admin"]).get(url).status_code == 404


@NO_LANDING_FETCH
def test_an_ad_is_created_submitted_and_shows_its_review_state() -> None:
    w = world()
    client = client_for(w["editor"])
    asset = MediaAssetFactory(owner=w["editor"])
    url = f"/ads/o/{w['org'].pk}/adgroups/{w['group'].pk}/ads/new"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "Spring ad",
            "asset_id": str(asset.pk),
            "display_name": "Acme Shoes",
            "cta": "shop_now",
            "landing_url": "https://shop.acme.example/spring",
            "restricted_category": "",
        },
    )
    ad = Ad.objects.get(name="Spring ad")
    assert response.status_code == 302
    assert response["Location"] == f"/ads/o/{w['org'].pk}/ads/{ad.pk}"
    assert ad.review_state == "pending"
    page = client.get(response["Location"]).content.decode()
    assert "In review" in page
    assert "Sponsored" in page
    assert "Acme Shoes" in page
    assert "Shop now" in page


@NO_LANDING_FETCH
def test_a_rejected_ad_shows_the_reasons_and_can_be_fixed_and_resubmitted() -> None:
    w = world()
    client = client_for(w["admin"])
    asset = MediaAssetFactory(owner=w["admin"])
    url = f"/ads/o/{w['org'].pk}/adgroups/{w['group'].pk}/ads/new"
    client.post(
        url,
        {
            "name": "Vape deals",
            "asset_id": str(asset.pk),
            "display_name": "Cheap vape",
            "cta": "shop_now",
            "landing_url": "https://shop.acme.example/",
        },
    )
    ad = Ad.objects.get(name="Vape deals")
    assert ad.review_state == "rejected"
    page = client.get(f"/ads/o/{w['org'].pk}/ads/{ad.pk}").content.decode()
    assert "Not approved" in page
    assert "are not allowed on SwipeMe" in page
    assert "Fix and resubmit" in page
    response = client.post(
        f"/ads/o/{w['org'].pk}/ads/{ad.pk}/edit",
        {
            "name": "Shoe deals",
            "asset_id": str(asset.pk),
            "display_name": "Acme Shoes",
            "cta": "shop_now",
            "landing_url": "https://shop.acme.example/",
        },
    )
    assert response.status_code == 302
    ad.refresh_from_db()
    assert ad.review_state == "pending"
    assert ad.review_reasons == []


def test_bad_ad_input_is_shown_beside_the_field() -> None:
    w = world()
    client = client_for(w["admin"])
    not_ours = MediaAssetFactory(owner=w["other_admin"])
    url = f"/ads/o/{w['org'].pk}/adgroups/{w['group'].pk}/ads/new"
    cases = [
        ({"asset_id": ""}, "asset_id"),
        ({"asset_id": str(not_ours.pk)}, "asset_id"),  # someone else's video by its id
        ({"landing_url": "http://shop.acme.example/"}, "landing_url"),
        ({"landing_url": "https://10.0.0.1/"}, "landing_url"),
        ({"display_name": ""}, "display_name"),
        ({"cta": "buy_crypto"}, "cta"),
    ]
    for overrides, field in cases:
        data = {
            "name": "Bad",
            "asset_id": str(MediaAssetFactory(owner=w["admin"]).pk),
            "display_name": "Acme",
            "cta": "learn_more",
            "landing_url": "https://shop.acme.example/",
        }
        data.update(overrides)
        response = client.post(url, data)
        assert response.status_code == 400, overrides
        assert field in response.context["form"].errors, (
            overrides,
            response.context["form"].errors,
        )
    assert not Ad.objects.filter(name="Bad").exists()


# --- audiences ----------------------------------------------------------------------------


def test_an_audience_csv_is_hashed_on_the_server_and_only_matches_are_kept() -> None:
    w = world()
    people = [UserFactory(email=f"Person{n}@Example.com") for n in range(3)]
    csv = "email\n" + "\n".join(f"  {p.email.upper()} " for p in people) + "\nnot an address\n"
    csv += hashlib.sha256(b"someone@elsewhere.example").hexdigest() + "\n"
    client = client_for(w["editor"])
    response = client.post(
        f"/ads/o/{w['org'].pk}/audiences/new",
        {"name": "Newsletter", "file": SimpleUploadedFile("list.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 302
    audience = CustomAudience.objects.get(org=w["org"], name="Newsletter")
    assert (audience.uploaded_count, audience.matched_count) == (4, 3)
    page = client.get(f"/ads/o/{w['org'].pk}/audiences").content.decode()
    assert "Too small to serve" in page  # 3 < the minimum size
    assert "Person0@Example.com".lower() not in page.lower()


def test_an_audience_file_without_addresses_is_refused_beside_the_field() -> None:
    w = world()
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/audiences/new",
        {"name": "Empty", "file": SimpleUploadedFile("list.csv", b"hello\nworld\n")},
    )
    assert response.status_code == 400
    assert "file" in response.context["form"].errors
    assert not CustomAudience.objects.filter(name="Empty").exists()


def test_billing_and_analysts_cannot_upload_audiences() -> None:
    w = world()
    for role in ("billing", "analyst"):
        response = client_for(w[role]).post(
            f"/ads/o/{w['org'].pk}/audiences/new",
            {"name": "X", "file": SimpleUploadedFile("l.csv", b"a@b.example\n")},
        )
        assert response.status_code == 403
    assert not CustomAudience.objects.filter(name="X").exists()


# --- funding ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["-10", "0", "abc", "1.234", "999999"])
def test_bad_top_up_amounts_are_refused_beside_the_field(amount: str) -> None:
    w = world()
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/billing", {"amount": amount, "payment_method": "pm_card_ok"}
    )
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert Topup.objects.count() == 0


def test_a_3ds_card_sends_the_payer_to_the_approval_page() -> None:
    w = world()
    response = client_for(w["admin"]).post(
        f"/ads/o/{w['org'].pk}/billing", {"amount": "20", "payment_method": "pm_card_3ds"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/payments/local/approve/")
    assert Topup.objects.get(org=w["org"]).status == "requires_action"


# --- reports ------------------------------------------------------------------------------


def test_reports_show_the_daily_table_as_charts_table_and_csv() -> None:
    w = world()
    today = timezone.now().date()
    AdDailyStats.objects.create(
        day=today,
        org_id=w["org"].pk,
        campaign_id=w["campaign"].pk,
        ad_group_id=w["group"].pk,
        ad_id=w["ad"].pk,
        age_band="25-34",
        country="FR",
        impressions=1000,
        views_2s=400,
        views_6s=200,
        completions=100,
        clicks=25,
        conversions=5,
        spend_micros=4_200_000,
    )
    AdDailyStats.objects.create(
        day=today,
        org_id=w["other"].pk,
        campaign_id=w["other_campaign"].pk,
        ad_group_id=w["other_group"].pk,
        ad_id=w["other_ad"].pk,
        impressions=77777,
        spend_micros=99_000_000,
    )
    client = client_for(w["analyst"])
    page = client.get(f"/ads/o/{w['org'].pk}/reports", {"by": "country"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg class="ads-chart"') == 4
    assert "$4.20" in html
    assert "77777" not in html
    assert "77,777" not in html
    assert "2.50 %" in html  # CTR
    csv = client.get(f"/ads/o/{w['org'].pk}/reports.csv", {"by": "country"})
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("breakdown,key,name,impressions")
    assert lines[1].startswith("country,FR,FR,1000,")
    assert ",4.200000," in lines[1]
    assert lines[-1].startswith("total,total,Total,1000,")


def test_a_bad_report_range_is_refused_in_words() -> None:
    w = world()
    client = client_for(w["admin"])
    response = client.get(
        f"/ads/o/{w['org'].pk}/reports", {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert response.status_code == 400
    assert "until" in response.context["form"].errors
    csv = client.get(f"/ads/o/{w['org'].pk}/reports.csv", {"by": "planet"})
    assert csv.status_code == 400


# --- CSRF and the throttle ------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused() -> None:
    w = world()
    client = Client(enforce_csrf_checks=True)
    client.force_login(w["admin"])
    response = client.post(f"/ads/o/{w['org'].pk}/campaigns/new", campaign_post())
    assert response.status_code == 403
    assert not Campaign.objects.filter(name="Summer").exists()


@override_settings(SWIPEME_ADSPORTAL_WRITE_LIMIT=(3, 60))
def test_writes_past_the_budget_are_throttled_in_words() -> None:
    from django.core.cache import cache

    w = world()
    cache.delete_many([f"adsportal:writes:{w['admin'].pk}:60"])
    client = client_for(w["admin"])
    url = f"/ads/o/{w['org'].pk}/campaigns/new"
    statuses = [client.post(url, campaign_post(name=f"C{n}")).status_code for n in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert "Wait a minute" in client.post(url, campaign_post(name="C9")).content.decode()
    assert Campaign.objects.filter(org=w["org"], name__startswith="C").count() == 3
    assert client.get(url).status_code == 200  # reads are not counted


def test_every_member_is_told_when_the_balance_is_used_up_and_why_no_ad_serves() -> None:
    from tests.ads.core_helpers import fund

    editor = UserFactory()
    org, admin = org_with({"editor": editor}, name="Dry")
    page = client_for(admin).get(f"/ads/o/{org.pk}/").content.decode()
    assert "Your ads are not being shown: the prepaid balance is used up." in page
    assert "to start them again" in page  # the admin may add funds: a link
    page = client_for(editor).get(f"/ads/o/{org.pk}/").content.decode()
    assert "Ask a member with billing rights to add funds." in page
    fund(org)
    page = client_for(admin).get(f"/ads/o/{org.pk}/").content.decode()
    assert "data-balance-empty" not in page
