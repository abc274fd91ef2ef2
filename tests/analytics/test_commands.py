"""The operators' commands: events_status and analytics_consume."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from apps.analytics import services
from apps.analytics.models import PostHourlyStats
from apps.events.log import DEFAULT_GROUP, RedisStreamEventLog
from tests.analytics.test_consumer import T0, send
from tests.content.factories import PostFactory
from tests.events.helpers import event

pytestmark = pytest.mark.django_db


def test_status_shows_pending_entries_and_consume_drains_them(auth_client):
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    RedisStreamEventLog().read(group=DEFAULT_GROUP, consumer="stuck", count=1)
    out = StringIO()

    call_command("events_status", stdout=out)

    text = out.getvalue()
    assert "2 entries" in text
    assert f"group {DEFAULT_GROUP}: pending 1" in text
    assert "stuck: pending 1" in text

    out = StringIO()
    call_command("analytics_consume", stdout=out)
    # the stuck consumer's entry is not idle long enough to be reclaimed yet
    assert out.getvalue().startswith("entries 1, applied 1, events 1, reclaimed 0")
    assert PostHourlyStats.objects.get(post_id=post.pk).impressions == 1


def test_status_of_an_empty_log():
    out = StringIO()

    call_command("events_status", stdout=out)

    assert "0 entries" in out.getvalue()


def test_idle_consumers_without_pending_entries_are_forgotten(auth_client):
    post = PostFactory()
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    send(auth_client, [event("impression", post_id=post.pk, ts=T0)])
    log = RedisStreamEventLog()
    log.read(group=DEFAULT_GROUP, consumer="holds-one", count=1)
    services.events_consume(consumer="done")

    # nothing has been idle for a day: nobody is forgotten
    assert services.consumers_prune() == 0
    # with no idle threshold, only the consumer that holds nothing goes
    assert services.consumers_prune(idle=timedelta(0)) == 1
    names = [c["name"] for c in log.client.xinfo_consumers(log.stream, DEFAULT_GROUP)]
    assert names == ["holds-one"]
