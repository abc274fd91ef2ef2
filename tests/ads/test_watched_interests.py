"""Interests from what people watch (issue 19): a signed-in adult's interests are their
onboarding topics and the topics of the posts they recently completed or liked; watching
changes who an interest-targeted ad group reaches, and the audience estimate counts by the
same rows. Minors, unknown ages and signed-out viewers stay contextual only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import User
from apps.ads import selectors, tasks
from apps.ads.delivery import redis_client
from apps.ads.models import AdGroup, WatchedTopics
from apps.ads.services import audiences, interests
from apps.ads.targeting import Targeting, viewer_for, viewer_matches, watched_topics
from apps.analytics.models import UserPostStats
from apps.content.models import Hashtag, Post, PostHashtag
from apps.feed.models import UserInterests
from tests.ads.core_helpers import live_ad
from tests.content.factories import PostFactory
from tests.factories import UserFactory

CARS = Targeting(interests=("cars",))


@pytest.fixture(autouse=True)
def _no_due_list() -> Iterator[None]:
    redis_client.forget()
    redis_client.client().delete(interests.DUE_KEY)
    yield
    redis_client.client().delete(interests.DUE_KEY)
    redis_client.forget()


def _post(*tags: str) -> Post:
    # by an author of unknown age: never given a watched-topics row (the beat task fills in
    # adults without one, which would count the authors too)
    post = PostFactory(author=UserFactory(date_of_birth=None))
    for tag in tags:
        found = Hashtag.objects.filter(name__iexact=tag).first() or Hashtag.objects.create(name=tag)
        PostHashtag.objects.create(post=post, hashtag=found)
    return post


def _watch(user: User, post: Post, *, completed: bool = True, liked: bool = False,
           days_ago: float = 0) -> None:
    UserPostStats.objects.create(user_id=user.pk, post_id=post.pk, impressions=1, plays=1,
                                 completed=completed, liked=liked,
                                 last_event_at=timezone.now() - timedelta(days=days_ago))


def test_the_rule_counts_a_topic_carried_by_enough_watched_posts() -> None:
    watched = [["cars", "racing"], ["Car"], ["cat"], ["unknown"]]
    # cars: 2 posts (a post's two car tags count once); animals: 1 post.
    assert watched_topics(watched, min_posts=2) == {"cars"}
    assert watched_topics(watched, min_posts=1) == {"cars", "animals"}
    assert watched_topics([], min_posts=2) == frozenset()


@pytest.mark.django_db
def test_watching_changes_who_an_interest_group_reaches() -> None:
    ad = live_ad(group_kw={"interests": ["cars"]})
    group = AdGroup.objects.get(pk=ad.ad_group_id)
    viewer_user = UserFactory()
    UserInterests.objects.create(user=viewer_user, interests=["food"])
    assert selectors.servable_ads(viewer_for(viewer_user)) == []
    assert audiences.audience_estimate(org=group.campaign.org, targeting=CARS).count == 0

    # Given: the viewer completed one car post and liked another (and skipped a third).
    _watch(viewer_user, _post("cars"))
    _watch(viewer_user, _post("racing", "travel"), completed=False, liked=True)
    _watch(viewer_user, _post("automotive"), completed=False)
    # When: the task computes the watched topics.
    assert tasks.refresh_watched_topics(user_ids=[viewer_user.pk]) == 1
    # Then: the car ad serves to them, and the estimate counts them.
    viewer = viewer_for(viewer_user)
    assert viewer.interests == {"food", "cars"}  # travel: one post only
    assert [a.ad_id for a in selectors.servable_ads(viewer)] == [ad.pk]
    assert audiences.audience_estimate(org=group.campaign.org, targeting=CARS).count == 1


@pytest.mark.django_db
@override_settings(SWIPEME_ADS_WATCHED_DAYS=30)
def test_old_watching_and_a_single_post_do_not_make_an_interest() -> None:
    user = UserFactory()
    _watch(user, _post("cars"), days_ago=40)
    _watch(user, _post("cars"), days_ago=35)
    _watch(user, _post("car"))
    interests.watched_topics_refresh(user_ids=[user.pk])
    assert WatchedTopics.objects.get(user=user).topics == []
    assert not viewer_matches(CARS, viewer_for(user))


@pytest.mark.django_db
def test_minors_and_unknown_ages_get_no_watched_interests() -> None:
    minor = UserFactory(date_of_birth=date(timezone.localdate().year - 15, 1, 1))
    unknown = UserFactory(date_of_birth=None)
    for user in (minor, unknown):
        _watch(user, _post("cars"))
        _watch(user, _post("cars"))
    WatchedTopics.objects.create(user=unknown, topics=["cars"], computed_at=timezone.now())
    assert interests.watched_topics_refresh(user_ids=[minor.pk, unknown.pk]) == 0
    assert not WatchedTopics.objects.filter(user__in=[minor, unknown]).exists()  # old row gone
    for user in (minor, unknown):
        viewer = viewer_for(user)
        assert viewer.interests == frozenset()
        assert not viewer_matches(CARS, viewer)
    assert viewer_for(None, country="US").interests == frozenset()


@pytest.mark.django_db
def test_serving_asks_for_a_refresh_of_a_missing_or_stale_row_and_the_task_makes_it() -> None:
    user = UserFactory()
    _watch(user, _post("cars"))
    _watch(user, _post("cars"))
    assert viewer_for(user).interests == frozenset()  # not computed yet: not waited for
    assert redis_client.client().smembers(interests.DUE_KEY) == {str(user.pk)}
    assert tasks.refresh_watched_topics() == 1
    assert redis_client.client().scard(interests.DUE_KEY) == 0
    assert viewer_for(user).interests == {"cars"}
    assert redis_client.client().scard(interests.DUE_KEY) == 0  # fresh: not asked again
    WatchedTopics.objects.filter(user=user).update(
        computed_at=timezone.now() - timedelta(hours=2))
    viewer_for(user)
    assert redis_client.client().smembers(interests.DUE_KEY) == {str(user.pk)}
    # A minor's page never asks (no row is ever made for them).
    minor = UserFactory(date_of_birth=date(timezone.localdate().year - 14, 1, 1))
    viewer_for(minor)
    assert str(minor.pk) not in redis_client.client().smembers(interests.DUE_KEY)


@pytest.mark.django_db
def test_the_estimate_counts_exactly_the_people_serving_matches() -> None:
    """One rule: over a population with onboarding interests, watched topics, both,
    neither, a minor and an unknown age, the estimate's count is the number of accounts
    whose viewer matches the interest group."""
    ad = live_ad()
    org = AdGroup.objects.get(pk=ad.ad_group_id).campaign.org
    onboarding, watched, both, neither = (UserFactory() for _ in range(4))
    minor = UserFactory(date_of_birth=date(timezone.localdate().year - 15, 1, 1))
    unknown = UserFactory(date_of_birth=None)
    UserInterests.objects.create(user=onboarding, interests=["cars"])
    UserInterests.objects.create(user=both, interests=["cars", "food"])
    UserInterests.objects.create(user=minor, interests=["cars"])
    UserInterests.objects.create(user=unknown, interests=["cars"])
    for user in (watched, both, minor, neither):
        _watch(user, _post("cars" if user is not neither else "food"))
        _watch(user, _post("racing" if user is not neither else "recipe"))
    interests.watched_topics_refresh(user_ids=list(User.objects.values_list("pk", flat=True)))
    for targeting in (CARS, Targeting(interests=("food",)), Targeting(interests=("cars", "food"))):
        matched = {u.pk for u in User.objects.filter(is_active=True)
                   if viewer_matches(targeting, viewer_for(u))}
        estimate = audiences.audience_estimate(org=org, targeting=targeting)
        assert estimate.count == len(matched), targeting
    assert {u.pk for u in (onboarding, watched, both)} == {
        u.pk for u in User.objects.all() if viewer_matches(CARS, viewer_for(u))}


@pytest.mark.django_db
def test_the_backfill_command_gives_every_existing_adult_a_row() -> None:
    watcher, idle = UserFactory(), UserFactory()
    _watch(watcher, _post("cars"))
    _watch(watcher, _post("cars"))
    minor = UserFactory(date_of_birth=date(timezone.localdate().year - 14, 1, 1))
    unknown = UserFactory(date_of_birth=None)
    gone = UserFactory(is_active=False)
    fresh = UserFactory()
    kept_at = timezone.now() - timedelta(minutes=5)
    WatchedTopics.objects.create(user=fresh, topics=["music"], computed_at=kept_at)
    out = io.StringIO()

    call_command("ads_backfill_watched_topics", "--batch", "1", stdout=out)

    rows = dict(WatchedTopics.objects.values_list("user_id", "topics"))
    assert rows == {watcher.pk: ["cars"], idle.pk: [], fresh.pk: ["music"]}
    assert not WatchedTopics.objects.filter(user__in=[minor, unknown, gone]).exists()
    assert WatchedTopics.objects.get(user=fresh).computed_at == kept_at  # not recomputed
    assert out.getvalue().strip() == "watched topics: 2 rows written"
    assert viewer_for(watcher).interests == {"cars"}
    call_command("ads_backfill_watched_topics", stdout=out)  # nothing left to do
    assert out.getvalue().strip().endswith("watched topics: 0 rows written")
    with pytest.raises(CommandError):
        call_command("ads_backfill_watched_topics", "--batch", "0")


@pytest.mark.django_db
def test_the_beat_task_fills_in_adults_without_a_row_in_batches() -> None:
    first, second = UserFactory(), UserFactory()
    _watch(second, _post("cars"))
    _watch(second, _post("cars"))
    UserFactory(date_of_birth=date(timezone.localdate().year - 14, 1, 1))  # never a row

    assert interests.watched_topics_refresh_due(limit=1) == 1
    assert list(WatchedTopics.objects.values_list("user_id", flat=True)) == [first.pk]
    assert tasks.refresh_watched_topics() == 1
    assert WatchedTopics.objects.get(user=second).topics == ["cars"]
    assert tasks.refresh_watched_topics() == 0


@pytest.mark.django_db
def test_the_beat_task_resumes_its_search_for_adults_without_a_row() -> None:
    """After a pass has checked every account, a run looks only above the last id it checked
    (new sign-ups), not at every adult again; when the day-long cursor lapses the sweep starts
    from the first id again and finds an adult below it that has no row."""
    from apps.ads.delivery.redis_client import client

    def _cursor() -> int:
        return int(str(client().get(interests.MISSING_CURSOR_KEY)))

    first, second = UserFactory(), UserFactory()
    assert interests.watched_topics_refresh_due(limit=1) == 1  # first
    assert _cursor() == first.pk
    assert 0 < client().ttl(interests.MISSING_CURSOR_KEY) <= interests.MISSING_CURSOR_TTL
    assert interests.watched_topics_refresh_due(limit=5) == 1  # second; the pass ends
    assert _cursor() == second.pk

    WatchedTopics.objects.filter(user=first).delete()  # below the cursor: not looked at
    signup = UserFactory()
    assert interests.watched_topics_refresh_due(limit=5) == 1
    assert set(WatchedTopics.objects.values_list("user_id", flat=True)) == {second.pk, signup.pk}
    assert _cursor() == signup.pk

    client().delete(interests.MISSING_CURSOR_KEY)  # the day is over: a new sweep
    assert interests.watched_topics_refresh_due(limit=5) == 1
    assert WatchedTopics.objects.filter(user=first).exists()
