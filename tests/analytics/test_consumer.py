"""The event-log consumer: exact aggregates for a known sequence, exactly once across
consumer deaths (a real process killed after reading), and what it ignores."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.analytics import services
from apps.analytics.models import (
    AppliedEntry,
    CreatorDailyStats,
    PostHourlyStats,
    PostRetention,
    UserPostStats,
)
from apps.content.models import Hashtag, PostHashtag
from apps.events.log import DEAD_LETTER_KEY, DEFAULT_GROUP, RedisStreamEventLog
from tests.conftest import ROOT, _subprocess_env
from tests.content.factories import PostFactory
from tests.events.helpers import URL, event, now_ms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = now_ms() - 60_000  # every event in one minute: one hour bucket, one day


def send(client: APIClient, events: list[dict[str, object]]) -> dict[str, object]:
    response = client.post(URL, {"events": events}, format="json")
    assert response.status_code == 200, response.content
    body: dict[str, object] = response.json()
    assert body["rejected"] == []
    return body


def known_sequence(post_id: int, creator_id: int) -> tuple[list[dict[str, object]],
                                                          list[dict[str, object]],
                                                          list[dict[str, object]]]:
    """Two batches from a signed-in viewer and one from a signed-out session."""
    p = post_id
    first = [
        event("impression", post_id=p, ts=T0, id_="u1"),
        event("play_start", post_id=p, ts=T0, id_="u2"),
        event("watch_progress", post_id=p, ts=T0, id_="u3", watched_ms=3_000,
              duration_ms=10_000),
        event("completion", post_id=p, ts=T0, id_="u4"),
        event("watch_end", post_id=p, ts=T0, id_="u5", watched_ms=15_000, duration_ms=10_000,
              loops=1),
        event("rewatch", post_id=p, ts=T0, id_="u6"),
        event("like", post_id=p, ts=T0, id_="u7"),
        event("share", post_id=p, ts=T0, id_="u8"),
    ]
    second = [
        event("play_start", post_id=p, ts=T0, id_="u9"),
        event("skip", post_id=p, ts=T0, id_="u10", watched_ms=500, duration_ms=10_000),
        event("not_interested", post_id=p, ts=T0, id_="u11"),
        event("qoe", post_id=p, ts=T0, id_="u12", ttff_ms=300, rebuffer_count=2,
              rebuffer_ms=700, error="decode"),
        event("qoe", post_id=p, ts=T0, id_="u13", ttff_ms=500),
        event("follow", post_id=p, ts=T0, id_="u14", creator_id=str(creator_id)),
        event("comment", post_id=p, ts=T0, id_="u15"),
        event("favourite", post_id=p, ts=T0, id_="u16"),
        event("report", post_id=p, ts=T0, id_="u17"),
    ]
    anonymous = [
        event("impression", post_id=p, ts=T0, id_="a1", session_id="web-1"),
        event("play_start", post_id=p, ts=T0, id_="a2", session_id="web-1"),
        event("watch_end", post_id=p, ts=T0, id_="a3", session_id="web-1", watched_ms=5_000,
              duration_ms=10_000),
    ]
    return first, second, anonymous


def assert_known_aggregates(viewer_id: int, post_id: int, creator_id: int) -> None:
    up = UserPostStats.objects.get(user_id=viewer_id, post_id=post_id)
    assert (up.impressions, up.plays, up.watch_ms, up.max_completion, up.loops,
            up.rewatches) == (1, 2, 15_500, 1.0, 1, 1)
    assert (up.completed, up.skipped, up.liked, up.shared, up.not_interested) == \
        (True, True, True, True, True)
    assert up.last_event_at == datetime.fromtimestamp(T0 / 1000, tz=UTC)
    assert UserPostStats.objects.count() == 1  # the signed-out session has no row

    hour = PostHourlyStats.objects.get(post_id=post_id)
    assert hour.hour == datetime.fromtimestamp(T0 // 3_600_000 * 3600, tz=UTC)
    assert {f: getattr(hour, f) for f in (
        "impressions", "plays", "watch_ms", "watch_fraction_count", "completions",
        "rewatches", "skips", "likes", "comments", "shares", "favourites", "follows",
        "not_interested", "reports", "qoe_reports", "ttff_ms_sum", "ttff_count",
        "rebuffer_count", "rebuffer_ms", "playback_errors")} == {
        "impressions": 2, "plays": 3, "watch_ms": 20_500, "watch_fraction_count": 3,
        "completions": 1, "rewatches": 1, "skips": 1, "likes": 1, "comments": 1, "shares": 1,
        "favourites": 1, "follows": 1, "not_interested": 1, "reports": 1, "qoe_reports": 2,
        "ttff_ms_sum": 800, "ttff_count": 2, "rebuffer_count": 2, "rebuffer_ms": 700,
        "playback_errors": 1}
    assert hour.watch_fraction_sum == pytest.approx(1.0 + 0.05 + 0.5)

    day = CreatorDailyStats.objects.get(creator_id=creator_id)
    assert (day.impressions, day.views, day.watch_ms, day.completions, day.likes,
            day.comments, day.shares, day.followers_gained, day.watch_fraction_count) == \
        (2, 3, 20_500, 1, 1, 1, 1, 1, 3)

    # ended plays reached 100 %, 5 % and 50 %
    assert PostRetention.objects.get(post_id=post_id).reached == \
        [3, 3] + [2] * 9 + [1] * 10


def test_a_known_sequence_aggregates_to_exact_numbers(auth_client, user):
    creator = UserFactory()
    post = PostFactory(author=creator)
    first, second, anonymous = known_sequence(post.pk, creator.pk)
    send(auth_client, first)
    send(auth_client, second)
    send(APIClient(), anonymous)

    report = services.events_consume(consumer="c1")

    assert (report.entries, report.applied, report.events, report.reclaimed) == (3, 3, 20, 0)
    assert_known_aggregates(user.pk, post.pk, creator.pk)
    # a second run finds nothing new; resending is dropped at ingest
    assert services.events_consume(consumer="c1").entries == 0
    assert send(auth_client, first)["duplicates"] == len(first)
    assert services.events_consume(consumer="c1").entries == 0
    assert_known_aggregates(user.pk, post.pk, creator.pk)


def test_more_events_add_to_the_existing_rows(auth_client, user):
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    services.events_consume(consumer="c1")
    send(auth_client, [event("impression", post_id=post.pk, ts=T0),
                       event("watch_progress", post_id=post.pk, ts=T0, watched_ms=2_000,
                             duration_ms=8_000)])
    services.events_consume(consumer="c1")

    up = UserPostStats.objects.get(user_id=user.pk, post_id=post.pk)
    assert (up.impressions, up.max_completion, up.watch_ms) == (2, 0.25, 0)
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 2


DOOMED_CONSUMER = """
import sys
import time

import django

django.setup()
from apps.events.log import RedisStreamEventLog

entries = RedisStreamEventLog().read(group=sys.argv[1], consumer="doomed", count=100)
print(len(entries), flush=True)
time.sleep(600)
"""


def test_a_consumer_killed_after_reading_leaves_entries_that_another_reclaims_once(
        auth_client, user):
    creator = UserFactory()
    post = PostFactory(author=creator)
    first, second, anonymous = known_sequence(post.pk, creator.pk)
    send(auth_client, first)
    send(auth_client, second)
    send(APIClient(), anonymous)
    log = RedisStreamEventLog()

    # given a consumer process that read every entry and was killed before acking
    proc = subprocess.Popen([sys.executable, "-c", DOOMED_CONSUMER, DEFAULT_GROUP],
                            env=_subprocess_env(), cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"3"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert log.pending_count(group=DEFAULT_GROUP) == 3
    # a consumer that only reads new entries (the dead one's are not idle long enough
    # yet) finds nothing and leaves them pending
    assert services.events_consume(consumer="early", reclaim_idle_ms=3_600_000).entries == 0
    assert log.pending_count(group=DEFAULT_GROUP) == 3

    # when another consumer runs after the idle time
    report = services.events_consume(consumer="rescuer", reclaim_idle_ms=0)

    # then it takes the entries over and counts them exactly once
    assert (report.reclaimed, report.applied, report.events) == (3, 3, 20)
    assert log.pending_count(group=DEFAULT_GROUP) == 0
    assert_known_aggregates(user.pk, post.pk, creator.pk)
    assert services.events_consume(consumer="rescuer", reclaim_idle_ms=0).entries == 0
    assert_known_aggregates(user.pk, post.pk, creator.pk)


def test_a_consumer_that_died_after_committing_but_before_acking_counts_nothing_twice(
        auth_client, user):
    creator = UserFactory()
    post = PostFactory(author=creator)
    first, second, anonymous = known_sequence(post.pk, creator.pk)
    send(auth_client, first)
    send(auth_client, second)
    send(APIClient(), anonymous)
    log = RedisStreamEventLog()
    # given a consumer that applied what it read (committed) and died before the ack
    entries = log.read(group=DEFAULT_GROUP, consumer="half", count=100)
    assert services.entries_apply(stream=log.stream, entries=entries) == (3, 20, 0)
    assert log.pending_count(group=DEFAULT_GROUP) == 3

    # when the entries are reclaimed
    report = services.events_consume(consumer="rescuer", reclaim_idle_ms=0)

    # then they are acked without being applied again
    assert (report.reclaimed, report.entries, report.applied) == (3, 3, 0)
    assert log.pending_count(group=DEFAULT_GROUP) == 0
    assert_known_aggregates(user.pk, post.pk, creator.pk)
    assert AppliedEntry.objects.count() == 3


def test_a_budget_limits_one_run_and_the_next_run_continues(auth_client):
    post = PostFactory()
    for _ in range(5):
        send(auth_client, [event("impression", post_id=post.pk, ts=T0)])

    first = services.events_consume(consumer="c", max_entries=2, chunk=1)
    rest = services.events_consume(consumer="c", max_entries=100)

    assert (first.entries, rest.entries) == (2, 3)
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 5


def test_events_about_unknown_posts_and_creators_count_nowhere(auth_client):
    # (ingest drops events about posts that do not exist; this one is deleted after it)
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0),
                       event("follow", ts=T0, creator_id="9000000000000002")])
    post.delete()

    report = services.events_consume(consumer="c")

    assert (report.applied, report.events) == (1, 2)
    assert not PostHourlyStats.objects.exists()
    assert not UserPostStats.objects.exists()
    assert not CreatorDailyStats.objects.exists()


def test_an_undecodable_entry_is_acked_and_skipped(auth_client):
    log = RedisStreamEventLog()
    log.client.xadd(log.stream, {"b": "{not json"})
    log.client.xadd(log.stream, {"other": "field"})
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])

    report = services.events_consume(consumer="c")

    assert (report.entries, report.skipped, report.applied) == (3, 2, 1)
    assert log.pending_count(group=DEFAULT_GROUP) == 0
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 1


def test_not_interested_hashtags_come_from_the_post(auth_client, user):
    post = PostFactory()
    tag = Hashtag.objects.create(name="cats")
    PostHashtag.objects.create(post=post, hashtag=tag)
    send(auth_client, [event("not_interested", post_id=post.pk, ts=T0)])

    services.events_consume(consumer="c")

    from apps.analytics.selectors import not_interested_for

    found = not_interested_for(user_id=user.pk)
    assert found.creators == {post.author_id}
    assert found.hashtags == {tag.pk}
    assert found.sounds == frozenset()


def test_applied_entries_are_pruned_after_the_retention(auth_client):
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    services.events_consume(consumer="c")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE analytics_appliedentry SET applied_at = now() - interval '8 days'")
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    services.events_consume(consumer="c")

    assert services.applied_entries_prune() == 1
    assert AppliedEntry.objects.count() == 1


def test_a_poison_entry_never_blocks_the_others_and_is_dead_lettered_after_five_tries(
        auth_client):
    post = PostFactory()
    log = RedisStreamEventLog()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    # an entry that decodes but cannot be applied (a producer bug: an event without post_id)
    poison_id = log.client.xadd(log.stream, {"b": json.dumps(
        {"u": None, "rt": now_ms(), "c": {}, "e": [{"type": "impression"}]})})
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])

    first = services.events_consume(consumer="c", reclaim_idle_ms=0)

    # the good entries around it are applied in the first run; it stays pending
    assert (first.entries, first.applied, first.failed, first.dead_lettered) == (2, 2, 1, 0)
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 2
    assert log.pending_count(group=DEFAULT_GROUP) == 1
    runs = [services.events_consume(consumer="c", reclaim_idle_ms=0) for _ in range(4)]
    assert [(r.reclaimed, r.failed, r.dead_lettered) for r in runs] == \
        [(1, 1, 0), (1, 1, 0), (1, 1, 0), (1, 1, 1)]
    assert log.pending_count(group=DEFAULT_GROUP) == 0
    dead: Any = log.client.xrange(DEAD_LETTER_KEY)
    assert [fields["entry_id"] for _id, fields in dead] == [poison_id]
    assert "KeyError" in dead[0][1]["reason"]
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 2
