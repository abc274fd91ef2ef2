"""Measurement events: the token is the only thing trusted, each token's event counts once,
invalid traffic is recorded but never billed, and the charge reaches pacing's counters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.ads.delivery import budget
from apps.ads.measurement.events import Caller, InvalidTokenError, ad_event_record
from apps.ads.models.measurement import AdEvent, InvalidReason
from tests.ads.measurement.conftest import BROWSER_UA, World, serve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _as(user: object | None) -> Caller:
    return Caller(user_id=getattr(user, "pk", None), user_agent=BROWSER_UA)


def test_a_cpm_impression_is_charged_its_auction_price_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    viewer = UserFactory(country="FR")
    token = serve(world.ads["cpm"], viewer=viewer, price=1_234)

    with django_capture_on_commit_callbacks(execute=True):
        first = ad_event_record(token=token, kind="impression", caller=_as(viewer))
        again = ad_event_record(token=token, kind="impression", caller=_as(viewer))

    assert first.valid
    assert first.charged == 1_234
    assert (first.event.country, first.event.age_band) == ("FR", "25-34")
    assert again.event.invalid_reason == InvalidReason.DUPLICATE
    assert again.charged == 0
    assert AdEvent.objects.filter(price_micros__gt=0).count() == 1
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 1_234}


def test_only_the_billing_event_is_charged(world: World) -> None:
    viewer = UserFactory()
    token = serve(
        world.ads["cpv2s"],
        viewer=viewer,
        price=900,
        served_at=timezone.now() - timedelta(seconds=30),
    )
    now = timezone.now()

    imp = ad_event_record(token=token, kind="impression", caller=_as(viewer), now=now)
    view = ad_event_record(
        token=token, kind="view_2s", caller=_as(viewer), now=now + timedelta(seconds=2)
    )
    view6 = ad_event_record(
        token=token, kind="view_6s", caller=_as(viewer), now=now + timedelta(seconds=6)
    )
    done = ad_event_record(
        token=token, kind="completion", caller=_as(viewer), now=now + timedelta(seconds=9)
    )

    assert [imp.valid, view.valid, view6.valid, done.valid] == [True] * 4
    assert [imp.charged, view.charged, view6.charged, done.charged] == [0, 900, 0, 0]


@pytest.mark.parametrize("kind", ["view_2s", "view_6s", "completion", "click"])
def test_nothing_counts_before_its_impression(world: World, kind: str) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpc"], viewer=viewer, served_at=timezone.now() - timedelta(minutes=1))

    recorded = ad_event_record(token=token, kind=kind, caller=_as(viewer))

    assert recorded.event.invalid_reason == InvalidReason.NO_IMPRESSION
    assert recorded.charged == 0


def test_views_faster_than_possible_are_invalid(world: World) -> None:
    viewer = UserFactory()
    served = timezone.now()
    token = serve(world.ads["cpv2s"], viewer=viewer, served_at=served)
    ad_event_record(
        token=token, kind="impression", caller=_as(viewer), now=served + timedelta(seconds=1)
    )

    # 6 s of video a second after the impression (and 2 s after serving)
    six = ad_event_record(
        token=token, kind="view_6s", caller=_as(viewer), now=served + timedelta(seconds=2)
    )
    # a 2 s view reported 1.2 s after the ad was served
    other = serve(world.ads["cpv2s"], viewer=viewer, served_at=served)
    ad_event_record(
        token=other, kind="impression", caller=_as(viewer), now=served + timedelta(milliseconds=100)
    )
    two = ad_event_record(
        token=other, kind="view_2s", caller=_as(viewer), now=served + timedelta(milliseconds=1200)
    )

    assert six.event.invalid_reason == InvalidReason.TOO_FAST
    assert two.event.invalid_reason == InvalidReason.TOO_FAST
    assert two.charged == 0


@pytest.mark.parametrize(
    "agent",
    [
        "",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 HeadlessChrome/131.0",
        "curl/8.5.0",
        "python-requests/2.32",
    ],
)
def test_bots_are_not_billed(world: World, agent: str) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer)

    recorded = ad_event_record(
        token=token, kind="impression", caller=Caller(user_id=viewer.pk, user_agent=agent)
    )

    assert recorded.event.invalid_reason == InvalidReason.BOT
    assert recorded.charged == 0
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 0}


def test_a_token_served_to_one_user_does_not_count_for_another(world: World) -> None:
    viewer, other = UserFactory(), UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer)

    by_other = ad_event_record(token=token, kind="impression", caller=_as(other))
    signed_out = ad_event_record(token=token, kind="impression", caller=_as(None))

    assert by_other.event.invalid_reason == InvalidReason.VIEWER_MISMATCH
    assert signed_out.event.invalid_reason == InvalidReason.VIEWER_MISMATCH
    assert not AdEvent.objects.filter(invalid_reason="").exists()


def test_a_signed_out_viewer_counts_by_device(world: World) -> None:
    token = serve(world.ads["cpm"], device="session-abc")

    recorded = ad_event_record(token=token, kind="impression", caller=_as(None))

    assert recorded.valid
    assert recorded.event.viewer_key == "d:session-abc"
    assert (recorded.event.age_band, recorded.event.country) == ("", "")


def test_events_long_after_serving_are_expired(world: World) -> None:
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer, served_at=timezone.now() - timedelta(hours=2))

    recorded = ad_event_record(token=token, kind="impression", caller=_as(viewer))

    assert recorded.event.invalid_reason == InvalidReason.EXPIRED
    assert recorded.charged == 0


def test_a_changed_token_is_refused(world: World) -> None:
    token = serve(world.ads["cpm"], viewer=UserFactory())
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")

    with pytest.raises(InvalidTokenError):
        ad_event_record(token=forged, kind="impression", caller=_as(None))
    assert not AdEvent.objects.exists()


@override_settings(SWIPEME_ADS_MAX_EVENTS_PER_MINUTE=3)
def test_more_impressions_a_minute_than_a_person_makes_are_invalid(world: World) -> None:
    viewer = UserFactory()
    results = [
        ad_event_record(
            token=serve(world.ads["cpm"], viewer=viewer), kind="impression", caller=_as(viewer)
        )
        for _ in range(5)
    ]

    assert [r.event.invalid_reason for r in results] == ["", "", "", "rate", "rate"]
    assert sum(r.charged for r in results) == 3 * 1_500


def test_repeated_clicks_on_one_ad_are_billed_once(world: World) -> None:
    viewer = UserFactory()
    clicks = []
    for _ in range(3):  # three servings of the same ad, each clicked
        token = serve(world.ads["cpc"], viewer=viewer, price=40_000)
        ad_event_record(token=token, kind="impression", caller=_as(viewer))
        clicks.append(ad_event_record(token=token, kind="click", caller=_as(viewer)))

    assert [c.event.invalid_reason for c in clicks] == ["", "repeated_click", "repeated_click"]
    assert [c.charged for c in clicks] == [40_000, 0, 0]
    assert clicks[0].event.click_id
