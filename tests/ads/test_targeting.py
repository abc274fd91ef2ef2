"""Targeting (apps/ads/targeting.py) and THE eligibility query (apps/ads/selectors.py):
minors and signed-out viewers get contextual ads only, restricted categories reach known
adults only, and an ad serves only when approved, active, in schedule and day-part, with
budget and balance left and an audience of at least the minimum size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.ads import selectors
from apps.ads.delivery import budget
from apps.ads.models import Ad, AdGroup, AudienceMember, Campaign, CustomAudience
from apps.ads.services import ad_groups, campaigns
from apps.ads.targeting import (
    Targeting,
    Viewer,
    slot_topics,
    topic_matches,
    validate_targeting,
    viewer_for,
    viewer_matches,
)
from apps.core.errors import ApplicationError
from apps.feed.models import UserInterests
from tests.ads.core_helpers import ad_for, fund, group_for, live_ad, org_with
from tests.factories import UserFactory

TOPIC_REFUSAL = (
    "Not a content topic: 'knitting' (one of comedy, dance, music, food, sports, gaming, "
    "beauty, fashion, travel, animals, diy, science, art, cars)."
)

ADULT = Viewer(user_id=1, age=30, country="US", language="en", device="ios",
               interests=frozenset({"gaming"}), audience_ids=frozenset({7}))
MINOR = Viewer(user_id=2, age=15, country="US", language="en", device="ios",
               interests=frozenset({"gaming"}), audience_ids=frozenset({7}))
NO_AGE = Viewer(user_id=3, age=None, country="US", language="en", device="ios",
                interests=frozenset({"gaming"}))
SIGNED_OUT = Viewer(country="US", language="en", device="web")


def test_contextual_targeting_reaches_everyone_it_names() -> None:
    contextual = Targeting(countries=("US",), languages=("en",))
    assert all(viewer_matches(contextual, v) for v in (ADULT, MINOR, NO_AGE, SIGNED_OUT))
    assert not viewer_matches(Targeting(countries=("FR",)), ADULT)
    assert not viewer_matches(Targeting(languages=("de",)), SIGNED_OUT)
    assert not viewer_matches(Targeting(devices=("android",)), ADULT)


def test_minors_unknown_ages_and_signed_out_viewers_get_no_personalised_ads() -> None:
    for personal in (Targeting(interests=("gaming",)), Targeting(custom_audience_ids=(7,)),
                     Targeting(regions=("US-CA",)), Targeting(lookalike_ids=(9,))):
        assert not viewer_matches(personal, MINOR)
        assert not viewer_matches(personal, NO_AGE)
        assert not viewer_matches(personal, SIGNED_OUT)
    assert viewer_matches(Targeting(interests=("gaming",)), ADULT)
    assert viewer_matches(Targeting(custom_audience_ids=(7,)), ADULT)
    assert not viewer_matches(Targeting(custom_audience_ids=(8,)), ADULT)
    assert not viewer_matches(Targeting(interests=("food",)), ADULT)


def test_age_bands_match_known_ages_only() -> None:
    teens = Targeting(age_bands=("13-17",))
    assert viewer_matches(teens, MINOR)
    assert not viewer_matches(teens, ADULT)
    assert viewer_matches(Targeting(age_bands=("25-34",)), ADULT)
    assert not viewer_matches(Targeting(age_bands=("25-34",)), SIGNED_OUT)
    assert not viewer_matches(Targeting(age_bands=("25-34",)), NO_AGE)


def test_restricted_categories_reach_known_adults_only() -> None:
    anyone = Targeting()
    assert viewer_matches(anyone, ADULT, restricted_category="alcohol")
    for viewer in (MINOR, NO_AGE, SIGNED_OUT):
        assert not viewer_matches(anyone, viewer, restricted_category="alcohol")
        assert viewer_matches(anyone, viewer)


def test_validation_normalises_and_refuses_in_words() -> None:
    clean = validate_targeting(Targeting(countries=("us", "US"), languages=("en-GB", "pt_BR"),
                                         interests=("gaming",), age_bands=("18-24",)))
    assert (clean.countries, clean.languages) == (("US",), ("en", "pt"))
    with pytest.raises(ApplicationError) as refused:
        validate_targeting(Targeting(age_bands=("13-17", "18-24")),
                           restricted_categories=["gambling"])
    assert "only be shown to adults" in refused.value.fields["age_bands"][0]
    with pytest.raises(ApplicationError) as refused:
        validate_targeting(Targeting(), restricted_categories=["alcohol"])  # any age
    assert "age_bands" in refused.value.fields
    with pytest.raises(ApplicationError) as refused:
        validate_targeting(Targeting(age_bands=("13-17",), interests=("gaming",)))
    assert "cannot use interests" in refused.value.fields["age_bands"][0]
    with pytest.raises(ApplicationError) as refused:
        validate_targeting(Targeting(countries=("USA",), interests=("knitting",),
                                     devices=("fridge",), regions=("FR-75",)))
    assert set(refused.value.fields) == {"countries", "interests", "devices"}



def test_content_topics_are_the_slots_neighbours_and_contextual() -> None:
    """A slot's topics are its two neighbours' hashtags' topics (feed.topics, one table);
    topics are contextual: they never make a group personal, so minors and signed-out
    viewers get topic-targeted ads, and a 13-17 group may use them."""
    assert slot_topics(("Recipe", "travel"), ("cat",)) == {"food", "travel", "animals"}
    assert slot_topics(("nothing",), ()) == frozenset()
    food = Targeting(topics=("food",))
    assert not food.personal
    assert topic_matches(food, frozenset({"food", "dance"}))
    assert not topic_matches(food, frozenset({"dance"}))
    assert not topic_matches(food, frozenset())  # a slot among untagged posts
    assert topic_matches(Targeting(), frozenset())  # no topic named: any slot
    assert all(viewer_matches(food, v) for v in (ADULT, MINOR, NO_AGE, SIGNED_OUT))
    teens = validate_targeting(Targeting(age_bands=("13-17",), topics=("Food", "food", "cars")))
    assert teens.topics == ("food", "cars")
    with pytest.raises(ApplicationError) as refused:
        validate_targeting(Targeting(topics=("knitting", "food")))
    assert refused.value.fields == {"topics": [TOPIC_REFUSAL]}


@pytest.mark.django_db
def test_viewer_for_reads_age_interests_and_audiences() -> None:
    user = UserFactory(country="de", language="de-AT")
    UserInterests.objects.create(user=user, interests=["food", "travel"])
    org, _admin = org_with()
    audience = CustomAudience.objects.create(org=org, name="a", state="ready")
    AudienceMember.objects.create(audience=audience, user=user)
    viewer = viewer_for(user, device="android", country="FR")
    assert (viewer.user_id, viewer.country, viewer.language, viewer.device) == (
        user.pk, "DE", "de", "android")
    assert viewer.interests == {"food", "travel"}
    assert viewer.audience_ids == {audience.pk}
    assert viewer.personalisable
    assert viewer.age_band in ("25-34", "35-44")
    anonymous = viewer_for(None, country="fr", language="fr-FR", device="toaster")
    assert (anonymous.user_id, anonymous.country, anonymous.language, anonymous.device) == (
        None, "FR", "fr", "")


@pytest.mark.django_db
def test_only_approved_active_scheduled_funded_ads_are_servable() -> None:
    ad = live_ad()
    viewer = Viewer(user_id=5, age=30, country="US", language="en", device="web")
    assert [a.ad_id for a in selectors.servable_ads(viewer)] == [ad.pk]
    assert selectors.eligible_ad_groups(viewer) == {ad.ad_group_id}
    found = selectors.live_ads()[0]
    assert (found.campaign_id, found.bid_micros, found.currency) == (
        ad.ad_group.campaign_id, 5_000_000, "USD")
    # Each condition alone removes it.
    for change, undo in (
        ((Ad, {"review_state": Ad.Review.PENDING}), {"review_state": Ad.Review.APPROVED}),
        ((Ad, {"status": Ad.Status.PAUSED}), {"status": Ad.Status.ACTIVE}),
    ):
        model, values = change
        model.objects.filter(pk=ad.pk).update(**values)
        assert selectors.servable_ads(viewer) == []
        model.objects.filter(pk=ad.pk).update(**undo)
    campaign = ad.ad_group.campaign
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    assert selectors.servable_ads(viewer) == []
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.ACTIVE, start_at=timezone.now() + timedelta(hours=1))
    assert selectors.servable_ads(viewer) == []
    Campaign.objects.filter(pk=campaign.pk).update(start_at=timezone.now() - timedelta(days=2),
                                                   end_at=timezone.now() - timedelta(days=1))
    assert selectors.servable_ads(viewer) == []
    Campaign.objects.filter(pk=campaign.pk).update(end_at=None)
    AdGroup.objects.filter(pk=ad.ad_group_id).update(status=AdGroup.Status.PAUSED)
    assert selectors.servable_ads(viewer) == []
    AdGroup.objects.filter(pk=ad.ad_group_id).update(status=AdGroup.Status.ACTIVE)
    assert len(selectors.servable_ads(viewer)) == 1


@pytest.mark.django_db
def test_day_parting_in_the_orgs_time_zone() -> None:
    now = timezone.now()
    org, admin = org_with(timezone_name="Asia/Tokyo")
    hour = selectors.hour_of_week(now, "Asia/Tokyo")
    ad = live_ad(admin, org=org, group_kw={"hours_of_week": [hour]})
    viewer = Viewer(country="US")
    assert len(selectors.servable_ads(viewer, now=now)) == 1
    AdGroup.objects.filter(pk=ad.ad_group_id).update(hours_of_week=[(hour + 1) % 168])
    assert selectors.servable_ads(viewer, now=now) == []


@pytest.mark.django_db
def test_no_budget_or_no_balance_left_means_no_serving() -> None:
    now = timezone.now()
    ad = live_ad(campaign_kw={"budget_micros": 2_000_000})
    viewer = Viewer(country="US")
    campaign_id = ad.ad_group.campaign_id
    budget.set_spent(campaign_id=campaign_id, micros=0, day=now)
    assert len(selectors.servable_ads(viewer, now=now)) == 1
    budget.record_spend(campaign_id=campaign_id, micros=2_000_000, at=now)
    assert selectors.servable_ads(viewer, now=now) == []
    budget.set_spent(campaign_id=campaign_id, micros=0, day=now)
    # an org whose prepaid balance is empty does not serve
    org, admin = org_with()
    campaign = campaigns.campaign_create(
        user=admin, org=org, name="Broke", objective="reach", budget_kind="daily",
        budget_micros=5_000_000, start_at=now - timedelta(hours=1))
    Campaign.objects.filter(pk=campaign.pk).update(status="active")
    broke = ad_for(group_for(campaign, admin), admin)
    Ad.objects.filter(pk=broke.pk).update(review_state=Ad.Review.APPROVED)
    assert {a.ad_id for a in selectors.servable_ads(viewer, now=now)} == {ad.pk}
    fund(org, 1_000_000)
    assert {a.ad_id for a in selectors.servable_ads(viewer, now=now)} == {ad.pk, broke.pk}


@pytest.mark.django_db
@override_settings(SWIPEME_ADS_AUDIENCE_MIN_SIZE=3)
def test_an_audience_below_the_minimum_size_does_not_serve() -> None:
    org, admin = org_with()
    members = [UserFactory() for _ in range(3)]
    audience = CustomAudience.objects.create(org=org, name="fans", state="ready",
                                             matched_count=2)
    for user in members[:2]:
        AudienceMember.objects.create(audience=audience, user=user)
    ad = live_ad(admin, org=org, group_kw={"custom_audience_ids": [audience.pk]})
    viewer = viewer_for(members[0])
    assert selectors.servable_ads(viewer) == []  # 2 < 3
    AudienceMember.objects.create(audience=audience, user=members[2])
    CustomAudience.objects.filter(pk=audience.pk).update(matched_count=3)
    assert [a.ad_id for a in selectors.servable_ads(viewer)] == [ad.pk]
    assert selectors.servable_ads(viewer_for(UserFactory())) == []  # not in it


@pytest.mark.django_db
def test_an_ad_groups_content_topics_are_saved_read_and_filter_the_slot() -> None:
    ad = live_ad(group_kw={"topics": ["Food", "travel"]})
    group = ad.ad_group
    assert group.topics == ["food", "travel"]
    assert Targeting.of(group).topics == ("food", "travel")
    user = group.campaign.org.memberships.get().user
    with pytest.raises(ApplicationError) as refused:
        ad_groups.ad_group_update(user=user, group=group, topics=["food", "knitting"])
    assert refused.value.fields == {"topics": [TOPIC_REFUSAL]}
    group.refresh_from_db()
    assert group.topics == ["food", "travel"]
    ad_groups.ad_group_update(user=user, group=group, topics=["cars"])
    (live,) = selectors.live_ads(timezone.now())
    assert live.targeting.topics == ("cars",)
    anyone = live_ad()
    viewer = SIGNED_OUT
    among_cars = selectors.servable_ads(viewer, topics=slot_topics(("racing",), ("dance",)))
    among_food = selectors.servable_ads(viewer, topics=slot_topics(("recipe",), ()))
    assert {a.ad_id for a in among_cars} == {ad.pk, anyone.pk}
    assert {a.ad_id for a in among_food} == {anyone.pk}
    assert {a.ad_id for a in selectors.servable_ads(viewer)} == {ad.pk, anyone.pk}
