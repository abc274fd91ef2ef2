"""The live pages (apps/web/views_live.py): the Live tab, the player, going live in the
studio (eligibility in words, the key shown once, rotate and revoke, the set-up), the end
screen (stats, save the replay) and the ring on a live host's avatar. Who sees what is
live.selectors' rule; these tests check that the pages ask it (a hidden live is a 404)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.live.models import LivePolicy, LiveStream, StreamKey
from apps.live.services import key_lookup
from apps.social.services import block_create, follow_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Browser = Callable[[User | None], Client]


@pytest.fixture(autouse=True)
def open_policy() -> None:
    """Anyone adult may go live here (age is the one threshold these tests keep)."""
    LivePolicy.objects.update_or_create(pk=1, defaults={"min_account_days": 0,
                                                        "min_followers": 0})


def on_air(host: User, *, title: str = "Sunday practice", audience: str = "everyone",
           state: str = LiveStream.State.LIVE, **fields: Any) -> LiveStream:
    return LiveStream.objects.create(host=host, title=title, audience=audience, state=state,
                                     started_at=timezone.now() - timedelta(minutes=5),
                                     **fields)


def text_of(response: Any) -> str:
    return str(response.content.decode())


def test_live_tab_lists_what_the_viewer_may_watch_followed_hosts_first(
        browser_for: Browser) -> None:
    viewer, known, stranger, private, blocker = UserFactory.create_batch(5)
    follow_create(follower=viewer, followee=known)
    stranger_live = on_air(stranger, title="Open to all")
    known_live = on_air(known, title="For my followers", audience="followers")
    on_air(private, title="Followers only, not followed", audience="followers")
    on_air(blocker, title="Blocked host")
    block_create(blocker=blocker, blocked=viewer)
    ended = UserFactory()
    LiveStream.objects.create(host=ended, title="Over", state=LiveStream.State.ENDED)

    page = text_of(browser_for(viewer).get("/live"))
    assert "Open to all" in page
    assert "For my followers" in page
    assert "Followers only, not followed" not in page
    assert "Blocked host" not in page
    assert "Over" not in page
    # the followed host's live comes first, and each card leads to its player
    assert page.index(f'data-live-card="{known_live.pk}"') \
        < page.index(f'data-live-card="{stranger_live.pk}"')
    assert f'href="/live/{stranger_live.pk}"' in page

    signed_out = text_of(browser_for(None).get("/live"))
    assert "Open to all" in signed_out
    assert "For my followers" not in signed_out


def test_live_tab_empty_and_in_the_feeds_nav(browser_for: Browser) -> None:
    page = text_of(browser_for(None).get("/live"))
    assert "Nobody is live right now" in page
    feed = text_of(browser_for(None).get("/"))
    assert 'href="/live"' in feed
    assert "data-live-tab" in feed


def test_player_page_answers_only_who_may_watch(browser_for: Browser) -> None:
    host, viewer, outsider = UserFactory.create_batch(3)
    follow_create(follower=viewer, followee=host)
    live = on_air(host, audience="followers", title="Q&A")
    seen = browser_for(viewer).get(f"/live/{live.pk}")
    assert seen.status_code == 200
    page = text_of(seen)
    assert f'data-playback="/live/{live.pk}/hls/index.m3u8"' in page
    assert "data-gift-open" in page
    assert "data-host-open" not in page
    assert seen["Cache-Control"] == "private, no-cache"
    # not a follower, signed out, an unknown or made-up id: the same 404
    assert browser_for(outsider).get(f"/live/{live.pk}").status_code == 404
    assert browser_for(None).get(f"/live/{live.pk}").status_code == 404
    assert browser_for(viewer).get("/live/12345").status_code == 404
    assert browser_for(viewer).get("/live/not-an-id").status_code == 404

    host_page = text_of(browser_for(host).get(f"/live/{live.pk}"))
    assert "data-host-open" in host_page
    assert "End the live" in host_page
    assert "data-gift-open" not in host_page  # no gifts to oneself

    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED,
                                                 ended_at=timezone.now())
    assert browser_for(viewer).get(f"/live/{live.pk}").status_code == 404
    ended = browser_for(host).get(f"/live/{live.pk}")  # the host gets the end screen
    assert ended.status_code == 302
    assert ended["Location"] == f"/studio/live/{live.pk}"


def test_go_live_refused_in_words(browser_for: Browser) -> None:
    young = UserFactory(date_of_birth=date.today() - timedelta(days=365 * 16))
    page = text_of(browser_for(young).get("/studio/live"))
    assert "You can't go live yet" in page
    assert "Going live is for people 18 and over." in page
    assert 'value="key"' not in page
    assert 'value="setup"' not in page
    LivePolicy.objects.filter(pk=1).update(min_followers=50)
    adult = UserFactory()
    page = text_of(browser_for(adult).get("/studio/live"))
    assert "You need 50 followers to go live (you have 0)." in page
    assert browser_for(None).get("/studio/live").status_code == 302  # log in first


def test_key_shown_once_then_rotated_and_revoked(browser_for: Browser) -> None:
    host = UserFactory()
    client = browser_for(host)
    page = text_of(client.get("/studio/live"))
    assert "You don't have a stream key yet." in page
    assert "rtmp://" in page
    assert "srt://" in page

    made = client.post("/studio/live", {"action": "key"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    first = made.context["plain_key"]
    assert first.startswith("live_")
    assert first in text_of(made)
    assert "This is the only time we show your key" in text_of(made)
    assert StreamKey.objects.get(user=host).key_hash == key_lookup(first).key_hash  # type: ignore[union-attr]
    # shown once: the page afterwards has its prefix only
    again = text_of(client.get("/studio/live"))
    assert first not in again
    assert StreamKey.objects.get(user=host).prefix in again

    rotated = client.post("/studio/live", {"action": "key"}).context["plain_key"]
    old, new = key_lookup(first), key_lookup(rotated)
    assert rotated != first
    assert old is not None
    assert old.revoked_at is not None
    assert new is not None
    assert new.revoked_at is None

    revoked = client.post("/studio/live", {"action": "revoke"}, follow=True)
    assert "Your stream key was revoked." in text_of(revoked)
    assert StreamKey.objects.filter(user=host, revoked_at__isnull=True).count() == 0


def test_set_up_then_waiting_for_the_encoder(browser_for: Browser) -> None:
    host = UserFactory()
    client = browser_for(host)
    refused = client.post("/studio/live", {"action": "setup", "title": "   ",
                                           "audience": "everyone"}, follow=True)
    assert "Give your live a title." in text_of(refused)
    assert not LiveStream.objects.filter(host=host).exists()

    # no cover chosen: the browser's form sends an empty "cover" (it was refused as "not a
    # file" before the browser test found it)
    done = client.post("/studio/live", {"action": "setup", "title": "Band practice",
                                        "audience": "followers", "cover": ""}, follow=True)
    page = text_of(done)
    live = LiveStream.objects.get(host=host)
    assert live.state == LiveStream.State.CREATED
    assert live.audience == "followers"
    assert "Waiting for your encoder…" in page
    assert f'data-live-id="{live.pk}"' in page
    assert "Cancel this live" in page

    cancelled = client.post("/studio/live", {"action": "end"})
    assert cancelled["Location"] == f"/studio/live/{live.pk}"
    live.refresh_from_db()
    assert live.state == LiveStream.State.ENDED


def test_end_screen_stats_and_saving_the_replay(browser_for: Browser) -> None:
    host, other = UserFactory.create_batch(2)
    started = timezone.now() - timedelta(minutes=30)
    live = LiveStream.objects.create(
        host=host, title="Late show", state=LiveStream.State.ENDED, started_at=started,
        ended_at=started + timedelta(minutes=20), end_reason=LiveStream.EndReason.HOST,
        peak_viewers=42, unique_viewers=97, watch_seconds=24_000, likes=1234, gift_coins=560,
        new_followers=7)
    client = browser_for(host)
    page = text_of(client.get(f"/studio/live/{live.pk}"))
    assert "Your live has ended" in page
    assert "Ended by the host" in page
    assert 'data-stat="duration">20 min 0 s<' in page
    assert 'data-stat="peak">42<' in page
    assert 'data-stat="average">20<' in page  # 24,000 s watched over 1,200 s on air
    assert 'data-stat="watch">6 h 40 min<' in page
    assert "Save the replay" in page
    assert browser_for(other).get(f"/studio/live/{live.pk}").status_code == 404

    saved = text_of(client.post(f"/studio/live/{live.pk}", follow=True))
    live.refresh_from_db()
    assert live.save_replay
    assert "Your replay is being made" in saved
    assert "Save the replay" not in saved

    # a live no video reached has nothing to save: no button (and the service refuses)
    never = LiveStream.objects.create(host=host, title="No show",
                                      state=LiveStream.State.ENDED,
                                      end_reason=LiveStream.EndReason.NEVER_STARTED)
    page = text_of(client.get(f"/studio/live/{never.pk}"))
    assert "No replay for this live." in page
    assert "Save the replay" not in page
    refused = text_of(client.post(f"/studio/live/{never.pk}", follow=True))
    assert "nothing to save" in refused


def test_ring_on_the_avatar_of_a_host_on_air(browser_for: Browser) -> None:
    host, viewer, outsider = UserFactory.create_batch(3)
    follow_create(follower=viewer, followee=host)
    assert "data-live-ring" not in text_of(browser_for(viewer).get(f"/@{host.username}"))
    live = on_air(host, audience="followers")
    page = text_of(browser_for(viewer).get(f"/@{host.username}"))
    assert "data-live-ring" in page
    assert f'href="/live/{live.pk}"' in page
    # someone who may not watch the live sees no ring
    assert "data-live-ring" not in text_of(browser_for(outsider).get(f"/@{host.username}"))
