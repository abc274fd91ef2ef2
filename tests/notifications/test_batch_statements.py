"""A fan-out batch's statements carry its ids as arrays (`= ANY(%s)`, `unnest`), not one
placeholder per id or per row: psycopg's splitting of a statement with thousands of
placeholders was half the fan-out's time at batches of 5,000 (bench/notifications.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.core.lookups import AnyLookup
from apps.notifications.models import CreatorPostSubscription, Notification
from apps.notifications.services.fanout import new_post_fan_out
from apps.social.models import Block
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db

FOLLOWERS = 40


def test_any_lookup_means_in_with_one_parameter():
    users = [UserFactory() for _ in range(3)]
    ids = {u.pk for u in users}
    query = User.objects.filter(pk__any=ids | {10**15 + i for i in range(5000)})
    assert set(query.values_list("pk", flat=True)) == ids
    _, params = query.query.sql_with_params()
    assert len(params) == 1  # not 5,003
    assert not User.objects.filter(pk__any=[]).exists()  # like __in=[]: no row
    assert User.objects.filter(username__any=[users[0].username]).get() == users[0]
    assert AnyLookup.lookup_name == "any"


def test_a_fan_out_batch_names_no_id_list_and_inserts_without_a_row_of_placeholders():
    creator = UserFactory()
    fans = []
    for _ in range(FOLLOWERS):
        fan = UserFactory()
        FollowFactory(follower=fan, followee=creator)
        CreatorPostSubscription.objects.create(user=fan, creator=creator, level="all")
        fans.append(fan.pk)
    Block.objects.create(blocker_id=fans[3], blocked_id=creator.pk)
    post = PublishedPostFactory(author=creator)
    with CaptureQueriesContext(connection) as queries:
        told = new_post_fan_out(post.pk, batch_size=FOLLOWERS)
    assert told == FOLLOWERS - 1  # the rules still hold (the blocker is not told)
    assert set(Notification.objects.filter(target_id=post.pk).values_list(
        "recipient_id", flat=True)) == set(fans) - {fans[3]}
    for q in queries.captured_queries:
        sql = q["sql"]
        for listed in re.findall(r" IN \(([^()]*)\)", sql):
            assert listed.count(",") < 10, sql[:300]  # no IN (id, id, ... id)
        assert sql.count("), (") < 10, sql[:300]  # no multi-row VALUES (...), (...)
