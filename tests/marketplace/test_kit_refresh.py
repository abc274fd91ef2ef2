"""The media kit's daily refresh (the beat task over `refresh_stale_kits`: stale kits only,
a second run does nothing) and the brand's search by audience language (the viewers'
account languages, a language shown only from the minimum count, like countries)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from apps.analytics.models import UserPostStats
from apps.analytics.selectors import AUDIENCE_MIN_COUNT as K
from apps.content.models import Post
from apps.marketplace import selectors
from apps.marketplace.models import CreatorProfile
from apps.marketplace.tasks import refresh_media_kits
from tests.factories import UserFactory
from tests.marketplace.helpers import brand, opted_in

pytestmark = pytest.mark.django_db


def watched_by(post: Post, n: int, language: str) -> None:
    viewers: list[Any] = [UserFactory(language=language, country="BR") for _ in range(n)]
    UserPostStats.objects.bulk_create(
        UserPostStats(user_id=v.pk, post_id=post.pk, plays=1, last_event_at=timezone.now())
        for v in viewers
    )


def published(author: Any) -> Post:
    from tests.content.factories import PostFactory

    return PostFactory(author=author)  # type: ignore[no-any-return]


def test_the_daily_task_refreshes_stale_kits_once() -> None:
    assert (
        settings.CELERY_BEAT_SCHEDULE["marketplace-refresh-media-kits"]["task"]
        == "marketplace.refresh_media_kits"
    )
    fresh, stale = opted_in(), opted_in()
    CreatorProfile.objects.filter(user=stale).update(
        kit_refreshed_at=timezone.now() - timedelta(days=2), followers=1
    )
    watched_by(published(stale), K, "pt-BR")
    assert refresh_media_kits.apply().get() == 1  # through Celery's task machinery
    kit = CreatorProfile.objects.get(user=stale)
    assert kit.followers == 5_000  # from the account again, not the stale figure
    assert kit.audience_languages == ["pt"]
    assert kit.audience["languages"][0]["key"] == "pt"
    assert kit.kit_refreshed_at is not None
    assert kit.kit_refreshed_at > timezone.now() - timedelta(minutes=5)
    assert CreatorProfile.objects.get(user=fresh).kit_refreshed_at is not None
    assert refresh_media_kits.apply().get() == 0  # again: every kit is fresh


def test_brands_search_by_audience_language_shown_only_from_the_minimum() -> None:
    portuguese, few = opted_in(), opted_in()
    opted_in(language="pt")  # speaks Portuguese, but nobody watches: not found
    watched_by(published(portuguese), K, "pt-BR")
    watched_by(published(few), K - 1, "pt")
    watched_by(published(few), K, "en")
    CreatorProfile.objects.update(kit_refreshed_at=None)  # joined before anyone watched
    assert refresh_media_kits.apply().get() == 3

    def found(language: str) -> set[int]:
        query = selectors.CreatorSearch(language=language)
        return set(selectors.search_creators(query).values_list("user_id", flat=True))

    assert found("pt") == {portuguese.pk}  # the creator's own language does not count
    assert found("PT-br") == {portuguese.pk}
    assert found("en") == {few.pk}
    assert few.pk not in found("pt")  # nine Portuguese speakers: hidden, not searchable
    org, admin = brand()
    client = Client()
    client.force_login(admin)
    page = client.get(f"/ads/o/{org.pk}/creators", {"language": "pt"}).content.decode()
    assert page.count("data-creator=") == 1
    assert f'data-creator="{portuguese.username}"' in page
    assert "pt 100.0%" in page
