"""Custom audiences (SHA-256 hashed e-mails matched in PostgreSQL; only matches kept),
lookalikes (nearest users to the seed's mean taste vector in the feed's embedding space)
and the audience-size estimate."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pytest
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Device, User
from apps.ads.models import AudienceMember, CustomAudience, LookalikeMember
from apps.ads.services import audiences
from apps.ads.targeting import Targeting
from apps.analytics.models import UserPostStats
from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.feed.models import PostEmbedding, UserInterests
from tests.ads.core_helpers import org_with
from tests.content.factories import PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@override_settings(SWIPEME_ADS_AUDIENCE_MIN_SIZE=2)
def test_hashed_emails_match_normalised_addresses_and_only_matches_are_kept() -> None:
    org, admin = org_with()
    ann = UserFactory(email="Ann@Example.com")
    bob = UserFactory(email="bob@example.com")
    UserFactory(email="carol@example.com")  # not uploaded
    gone = UserFactory(email="gone@example.com", is_active=False)
    lines = ["sha256", digest(" ann@example.COM "), digest("bob@example.com").upper(),
             digest("bob@example.com"), digest("nobody@example.com"), digest(gone.email), ""]
    audience = audiences.audience_upload(user=admin, org=org, name="Customers", lines=lines)
    assert (audience.state, audience.uploaded_count, audience.matched_count) == (
        "ready", 4, 2)
    assert set(AudienceMember.objects.filter(audience=audience)
               .values_list("user_id", flat=True)) == {ann.pk, bob.pk}
    assert audiences.audience_serves(audience)
    assert audiences.audience_status_words(audience) == "2 people matched."


def test_plain_addresses_and_junk_are_refused_in_words() -> None:
    org, admin = org_with()
    with pytest.raises(ApplicationError) as refused:
        audiences.audience_upload(user=admin, org=org, name="Raw",
                                  lines=[digest("a@b.c"), "ann@example.com"])
    assert "not SHA-256 hex digests" in refused.value.fields["file"][0]
    with pytest.raises(ApplicationError) as refused:
        audiences.audience_upload(user=admin, org=org, name="Empty", lines=["", " "])
    assert "No SHA-256" in refused.value.fields["file"][0]
    assert not CustomAudience.objects.exists()


@override_settings(SWIPEME_ADS_AUDIENCE_MIN_SIZE=5)
def test_an_audience_below_the_minimum_says_it_will_not_serve() -> None:
    org, admin = org_with()
    user = UserFactory()
    audience = audiences.audience_upload(user=admin, org=org, name="Few",
                                         lines=[digest(user.email)])
    assert audience.matched_count == 1
    assert not audiences.audience_serves(audience)
    assert "Too small to use: fewer than 5 people" in audiences.audience_status_words(audience)
    with pytest.raises(ApplicationError, match="at least 5 matched"):
        audiences.lookalike_create(user=admin, org=org, seed_id=audience.pk, size=10)


def _vector(direction: int, noise: float, rng: np.random.Generator) -> list[float]:
    v = np.zeros(384, dtype=np.float32)
    v[direction] = 1.0
    v += rng.normal(0, noise, 384).astype(np.float32)
    return [float(x) for x in v / np.linalg.norm(v)]


@override_settings(SWIPEME_ADS_AUDIENCE_MIN_SIZE=2)
def test_lookalikes_are_the_users_nearest_the_seeds_taste() -> None:
    rng = np.random.default_rng(7)
    now = timezone.now()
    cooking: list[Post] = [PostFactory() for _ in range(3)]
    gaming: list[Post] = [PostFactory() for _ in range(3)]
    for post in cooking:
        PostEmbedding.objects.create(post=post, vector=_vector(0, 0.05, rng), text_hash="c")
    for post in gaming:
        PostEmbedding.objects.create(post=post, vector=_vector(1, 0.05, rng), text_hash="g")

    def watcher(posts: list[Post], **kw: object) -> User:
        user: User = UserFactory(**kw)
        for post in posts:
            UserPostStats.objects.create(user_id=user.pk, post_id=post.pk, completed=True,
                                         last_event_at=now)
        return user

    seed = [watcher(cooking) for _ in range(2)]
    cooks = [watcher(cooking[:2]) for _ in range(3)]
    gamers = [watcher(gaming) for _ in range(3)]
    org, admin = org_with()
    audience = audiences.audience_upload(user=admin, org=org, name="Seed",
                                         lines=[digest(u.email) for u in seed])
    lookalike = audiences.lookalike_create(user=admin, org=org, seed_id=audience.pk, size=3)
    members = set(LookalikeMember.objects.filter(lookalike=lookalike)
                  .values_list("user_id", flat=True))
    assert members == {u.pk for u in cooks}  # nearest first, seed excluded
    assert (lookalike.state, lookalike.matched_count) == ("ready", 3)
    assert not members & {u.pk for u in gamers}


@override_settings(SWIPEME_ADS_AUDIENCE_MIN_SIZE=2)
def test_the_estimate_counts_matching_accounts_and_hides_tiny_counts() -> None:
    org, _admin = org_with()
    today = date.today()
    adults = [UserFactory(country="US", language="en",
                          date_of_birth=today.replace(year=today.year - 30))
              for _ in range(4)]
    minor = UserFactory(country="US", language="en",
                        date_of_birth=today.replace(year=today.year - 15))
    UserFactory(country="FR", language="fr")
    for user in (*adults[:3], minor):
        UserInterests.objects.create(user=user, interests=["gaming"])
    Device.objects.create(user=adults[0], platform="ios")
    base = audiences.audience_estimate(org=org, targeting=Targeting(countries=("US",)))
    assert base.count == 4 + 1  # the adults and the minor (the org admin has no country)
    gaming = audiences.audience_estimate(
        org=org, targeting=Targeting(countries=("US",), interests=("gaming",)))
    assert gaming.count == 3  # personal targeting: the minor is not counted
    assert gaming.shown == "about 3 people"
    assert not gaming.too_small
    teens = audiences.audience_estimate(org=org, targeting=Targeting(age_bands=("13-17",)))
    assert teens.count == 1
    assert teens.too_small
    assert teens.shown == "fewer than 2 people"
    ios = audiences.audience_estimate(org=org, targeting=Targeting(devices=("ios",)))
    assert ios.count == 1
    french = audiences.audience_estimate(org=org, targeting=Targeting(languages=("fr",)))
    assert french.count == 1
