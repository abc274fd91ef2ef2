"""Search lists lives on air (`tab=live`, and up to two on Top): found by the host's handle
or display name and by the title, only those live's one rule lets the viewer watch
(`live.selectors.visible_lives_q` through `live_tab`), gone once they end; each links to its
player page. Lives are read from PostgreSQL at each search, not from the index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.live.models import LiveBan, LiveStream
from apps.moderation.models import EnforcementAction, TargetType
from apps.social.services import block_create, follow_create
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def on_air(host: User, *, title: str = "Sunday practice", audience: str = "everyone",
           state: str = LiveStream.State.LIVE) -> LiveStream:
    return LiveStream.objects.create(host=host, title=title, audience=audience, state=state,
                                     started_at=timezone.now() - timedelta(minutes=5))


def end(live: LiveStream) -> None:
    """Ended as `live_end` leaves it (the row only: no lock-taking service in this test's
    transaction)."""
    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED,
                                                 ended_at=timezone.now(),
                                                 end_reason=LiveStream.EndReason.HOST)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def lives(body: dict[str, Any]) -> list[str]:
    return ids(body, "live")


def test_live_tab_finds_a_live_by_host_handle_name_and_title_with_its_shape() -> None:
    host = UserFactory(username="djmarisol", display_name="Marisol Beats", is_verified=True)
    live = on_air(host, title="Vinyl night from Lisbon")
    other = on_air(UserFactory(username="someoneelse"), title="Cooking pasta")

    for query in ("djmarisol", "marisol beats", "marisol", "vinyl night", "lisbon", "djmarisl"):
        assert lives(search(client_for(None), query, tab="live")) == [str(live.pk)], query
    body = search(client_for(None), "djmarisol", tab="live")
    assert body["results"] == [{
        "type": "live", "id": str(live.pk), "title": "Vinyl night from Lisbon",
        "host": {"username": "djmarisol", "display_name": "Marisol Beats",
                 "avatar_url": None, "is_verified": True},
        "viewer_count": 0, "cover_url": None,
        "started_at": body["results"][0]["started_at"], "url": f"/live/{live.pk}"}]
    assert lives(search(client_for(None), "pasta", tab="live")) == [str(other.pk)]
    assert lives(search(client_for(None), "skateboarding", tab="live")) == []
    # as you type: the last word as a prefix
    assert lives(search(client_for(None), "vinyl ni", tab="live", mode="prefix")) \
        == [str(live.pk)]


def test_host_named_before_title_matches() -> None:
    named = on_air(UserFactory(username="guitarhero", display_name="G"), title="Tuesday")
    titled = on_air(UserFactory(username="pianoman", display_name="P"),
                    title="Guitarhero covers")
    assert lives(search(client_for(None), "guitarhero", tab="live")) \
        == [str(named.pk), str(titled.pk)]


def test_followers_only_live_is_found_by_followers_not_strangers() -> None:
    host = UserFactory(username="closefriends")
    follower, stranger = UserFactory.create_batch(2)
    follow_create(follower=follower, followee=host)
    live = on_air(host, title="Just for you", audience="followers")

    assert lives(search(client_for(follower), "closefriends", tab="live")) == [str(live.pk)]
    assert lives(search(client_for(stranger), "closefriends", tab="live")) == []
    assert lives(search(client_for(None), "closefriends", tab="live")) == []
    assert lives(search(client_for(stranger), "closefriends")) == []  # nor on Top


def test_blocked_either_way_or_banned_viewer_gets_nothing() -> None:
    host = UserFactory(username="blockyhost")
    blocked, blocker, banned, anyone = UserFactory.create_batch(4)
    live = on_air(host, title="Open stream")
    block_create(blocker=host, blocked=blocked)
    block_create(blocker=blocker, blocked=host)
    LiveBan.objects.create(host=host, user=banned)

    assert lives(search(client_for(anyone), "blockyhost", tab="live")) == [str(live.pk)]
    for viewer in (blocked, blocker, banned):
        assert lives(search(client_for(viewer), "blockyhost", tab="live")) == []
        assert lives(search(client_for(viewer), "open stream", tab="live")) == []
        assert lives(search(client_for(viewer), "blockyhost")) == []


def test_an_ended_live_disappears_and_a_waiting_one_is_not_listed() -> None:
    host = UserFactory(username="endsoon")
    live = on_air(host, title="Last minutes")
    assert lives(search(client_for(None), "endsoon", tab="live")) == [str(live.pk)]

    end(live)
    assert lives(search(client_for(None), "endsoon", tab="live")) == []
    waiting = UserFactory(username="notyet")
    on_air(waiting, title="Soon", state=LiveStream.State.CREATED)
    assert lives(search(client_for(None), "notyet", tab="live")) == []


def test_reconnecting_is_still_on_air_and_a_search_banned_host_is_left_out() -> None:
    host = UserFactory(username="flakywifi")
    live = on_air(host, title="Back in a second", state=LiveStream.State.RECONNECTING)
    assert lives(search(client_for(None), "flakywifi", tab="live")) == [str(live.pk)]
    EnforcementAction.objects.create(action=EnforcementAction.Action.SEARCH_BAN,
                                     target_type=TargetType.USER, target_id=host.pk,
                                     subject=host, policy="spam_scam",
                                     reason="Follower-farming spam.")
    assert lives(search(client_for(None), "flakywifi", tab="live")) == []
    # live's own rule still lets people watch it (only search hides it)
    assert client_for(None).get(f"/api/v1/live/{live.pk}").status_code == 200


def test_top_puts_lives_after_the_accounts_named_by_the_query() -> None:
    host = UserFactory(username="nightowl", display_name="Night Owl")
    index(host)
    live = on_air(host, title="Late talk")
    body = search(client_for(None), "nightowl")
    assert [(item["type"], item.get("id")) for item in body["results"][:2]] \
        == [("account", str(host.pk)), ("live", str(live.pk))]


def test_search_page_shows_the_live_tab_and_a_live_result(client: Client) -> None:
    host = UserFactory(username="pagelive", display_name="Page Live")
    live = on_air(host, title="Painting a mural")
    page = client.get("/search", {"q": "mural", "tab": "live"}).content.decode()
    tab = page.split('id="search-tab-live"')[1].split(">")[0]
    assert 'aria-selected="true"' in tab
    assert f'href="/live/{live.pk}"' in page
    assert 'data-result-type="live"' in page
    assert "Painting a mural" in page
    assert '<span class="live-badge" aria-hidden="true">LIVE</span>' in page
    end(live)
    page = client.get("/search", {"q": "mural", "tab": "live"}).content.decode()
    assert f'href="/live/{live.pk}"' not in page
    assert "No results for" in page
    assert "We couldn't find lives on air matching your search." in page
