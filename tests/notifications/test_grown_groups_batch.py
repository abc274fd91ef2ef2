"""A personalised fan-out whose recipients all have an open "new videos" group grows those
groups with one UPDATE ... FROM unnest per batch, not one UPDATE per row: the number of
statements of a batch does not depend on how many groups it grows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.notifications.models import CreatorPostSubscription, Inbox, Notification
from apps.notifications.services.fanout import new_post_fan_out
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db


def _grow_all(followers: int) -> tuple[int, list[int], int]:
    """Statements of the second post's fan-out (every follower's group grows)."""
    creator = UserFactory()
    fans = []
    for _ in range(followers):
        fan = UserFactory()
        FollowFactory(follower=fan, followee=creator)
        CreatorPostSubscription.objects.create(user=fan, creator=creator,
                                               level="personalised")
        fans.append(fan.pk)
    first = PublishedPostFactory(author=creator)
    assert new_post_fan_out(first.pk, batch_size=followers) == followers
    second = PublishedPostFactory(author=creator)
    with CaptureQueriesContext(connection) as queries:
        assert new_post_fan_out(second.pk, batch_size=followers) == followers
    return len(queries.captured_queries), fans, second.pk


def test_growing_groups_costs_the_same_statements_for_3_or_30_rows():
    few, _, _ = _grow_all(3)
    many, fans, post_id = _grow_all(30)
    assert many == few
    rows = list(Notification.objects.filter(recipient_id__in=fans, type="new_post"))
    assert len(rows) == 30  # grown, not a second row each
    last = dict(Inbox.objects.filter(user_id__in=fans).values_list("user_id", "last_seq"))
    for row in rows:
        assert row.actor_count == 2
        assert row.target_id != post_id  # the group keeps its first post as target
        assert row.seq == last[row.recipient_id] == 2
        assert row.read_at is None
