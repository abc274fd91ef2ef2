"""THE visibility rule of lives (selectors.visible_lives_q / live_for), which the API, the
pages, HLS serving, the chat and search all ask: audiences, private hosts, blocks either
way, a host's live ban, suspended hosts, lives not on air; and the Live tab's order."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.live import selectors
from apps.live.chat import presence
from apps.live.models import LiveBan, LiveChatMessage, LiveStream
from apps.moderation.services import enforce
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, live_row
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory

pytestmark = pytest.mark.django_db

ANON = AnonymousUser()


def _sees(viewer: User | AnonymousUser, live: LiveStream) -> bool:
    if not selectors.visible_lives(viewer).filter(pk=live.pk).exists():
        with pytest.raises(NotFoundError) as caught:
            selectors.live_for(viewer, str(live.pk))
        assert caught.value.message == selectors.LIVE_NOT_FOUND
        return False
    assert selectors.live_for(viewer, str(live.pk)).pk == live.pk
    return True


def test_everyone_and_followers_audiences():
    creator, follower, stranger = host(), UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=creator)
    public = live_row(creator)
    assert [_sees(v, public) for v in (ANON, stranger, follower, creator)] == [True] * 4
    public.audience = LiveStream.Audience.FOLLOWERS
    public.save()
    assert [_sees(v, public) for v in (ANON, stranger, follower, creator)] == [
        False, False, True, True]


def test_a_private_hosts_live_is_for_their_followers_whatever_the_audience():
    creator, follower, stranger = host(is_private=True), UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=creator)
    live = live_row(creator)
    assert [_sees(v, live) for v in (ANON, stranger, follower, creator)] == [
        False, False, True, True]


def test_blocks_either_way_and_the_hosts_live_ban_hide_the_live():
    creator = host()
    blocked, blocker, banned, fan = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    for user in (blocked, blocker, banned, fan):
        FollowFactory(follower=user, followee=creator)
    BlockFactory(blocker=creator, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=creator)
    LiveBan.objects.create(host=creator, user=banned, by=creator)
    live = live_row(creator, audience=LiveStream.Audience.FOLLOWERS)
    assert [_sees(v, live) for v in (blocked, blocker, banned, fan)] == [
        False, False, False, True]


def test_lives_not_on_air_are_the_hosts_alone_and_a_suspended_hosts_nobodys():
    creator, fan = host(), UserFactory()
    FollowFactory(follower=fan, followee=creator)
    waiting = live_row(creator, state=LiveStream.State.CREATED)
    assert (_sees(fan, waiting), _sees(creator, waiting)) == (False, True)
    waiting.state = LiveStream.State.RECONNECTING
    waiting.save()
    assert _sees(fan, waiting)
    assert _sees(ANON, waiting)
    waiting.state = LiveStream.State.ENDED
    waiting.save()
    assert (_sees(fan, waiting), _sees(creator, waiting)) == (False, True)  # stats
    other = host()
    on_air = live_row(other)
    enforce(action="suspend", target_type="user", target_id=other.pk,
            policy="spam_scam", reason="test")
    assert not _sees(fan, on_air)
    assert not _sees(ANON, on_air)


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "99999999999999999999999", "1e3", " 1"])
def test_a_malformed_or_unknown_id_is_the_same_404(raw):
    with pytest.raises(NotFoundError) as caught:
        selectors.live_for(ANON, raw)
    assert caught.value.message == selectors.LIVE_NOT_FOUND


def test_the_live_tab_puts_followed_hosts_first_and_leaves_out_own_muted_and_hidden():
    viewer = UserFactory()
    followed, popular, quiet, muted, hidden = host(), host(), host(), host(), host()
    FollowFactory(follower=viewer, followee=followed)
    MuteFactory(muter=viewer, muted=muted)
    lives = {name: live_row(user) for name, user in
             (("followed", followed), ("popular", popular), ("quiet", quiet),
              ("muted", muted))}
    live_row(hidden, audience=LiveStream.Audience.FOLLOWERS)
    live_row(host(), state=LiveStream.State.ENDED)
    live_row(viewer)  # their own
    _watching(lives["popular"], 3)  # the viewers now (H4's presence in Redis)
    _watching(lives["quiet"], 1)
    _watching(lives["followed"], 0)
    tab = selectors.live_tab(viewer)
    assert [live.pk for live in tab] == [lives[n].pk for n in ("followed", "popular",
                                                                "quiet")]
    assert [vars(live)["viewer_count"] for live in tab] == [0, 3, 1]
    # signed out: nobody is followed or muted
    assert [live.pk for live in selectors.live_tab(ANON)][:1] == [lives["popular"].pk]
    assert lives["muted"].pk in {live.pk for live in selectors.live_tab(ANON)}


def _watching(live: LiveStream, viewers: int) -> None:
    until = time.time() + presence.PRESENCE_TTL_SECONDS
    for n in range(viewers):
        presence.client().zadd(presence.key(live.pk, "viewers"), {f"conn-{n}": until})


def test_on_air_host_ids_are_those_in_a_live_the_viewer_may_watch():
    viewer = UserFactory()
    public, followers_only, ended = host(), host(), host()
    live_row(public)
    live_row(followers_only, audience=LiveStream.Audience.FOLLOWERS)
    live_row(ended, state=LiveStream.State.ENDED)
    ids = [public.pk, followers_only.pk, ended.pk, viewer.pk]
    assert selectors.on_air_host_ids(ids, viewer=viewer) == {public.pk}
    FollowFactory(follower=viewer, followee=followers_only)
    assert selectors.on_air_host_ids(ids, viewer=viewer) == {public.pk, followers_only.pk}
    assert selectors.on_air_host_ids([]) == set()


def test_the_live_tab_costs_the_same_queries_for_one_live_or_many() -> None:
    viewer = UserFactory()
    client = client_for(viewer)

    def add_live() -> None:
        live = live_row(host())
        pinned = LiveChatMessage.objects.create(live=live, author=UserFactory(), text="hi")
        LiveStream.objects.filter(pk=live.pk).update(pinned_message=pinned)

    add_live()
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/live").json()) == 1
    for _ in range(4):
        add_live()
    with CaptureQueriesContext(connection) as five:
        body = client.get("/api/v1/live").json()
    assert len(body) == 5
    assert body[0]["pinned_message"]["text"] == "hi"
    assert len(five.captured_queries) == len(one.captured_queries)
