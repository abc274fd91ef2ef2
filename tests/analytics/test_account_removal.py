"""A removed account takes its watch history and creator rows with it; its export lists
the watch history; events still in the log from a removed user make no per-user rows."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.accounts.hooks import export_sections, run_account_removal_hooks
from apps.analytics import selectors, services
from apps.analytics.models import CreatorDailyStats, PostHourlyStats, UserPostStats
from tests.analytics.test_consumer import T0, send
from tests.content.factories import PostFactory
from tests.events.helpers import event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_removing_an_account_removes_its_analytics(auth_client, user,
                                                   django_capture_on_commit_callbacks):
    own_post = PostFactory(author=user)
    other_post = PostFactory()
    send(auth_client, [event("impression", post_id=other_post.pk, ts=T0),
                       event("not_interested", post_id=other_post.pk, ts=T0),
                       event("impression", post_id=own_post.pk, ts=T0)])
    services.events_consume(consumer="c")
    exported = export_sections()["watch_history"](user_id=user.pk)
    assert sorted(row["post_id"] for row in exported) == sorted([str(own_post.pk),
                                                                 str(other_post.pk)])
    assert selectors.seen_post_ids(user_id=user.pk)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_account_removal_hooks(user_id=user.pk)
        user.delete()

    assert not UserPostStats.objects.exists()
    assert not CreatorDailyStats.objects.filter(creator_id=user.pk).exists()
    assert CreatorDailyStats.objects.filter(creator_id=other_post.author_id).exists()
    assert PostHourlyStats.objects.filter(post_id=other_post.pk).exists()
    assert selectors.seen_post_ids(user_id=user.pk) == []
    assert selectors.not_interested_for(user_id=user.pk) == selectors.NotInterested()


def test_events_of_a_user_removed_before_consumption_make_no_user_rows(auth_client, user):
    post = PostFactory()
    send(auth_client, [event("play_start", post_id=post.pk, ts=T0)])
    user_id = user.pk
    UserFactory()  # someone else stays
    user.delete()

    services.events_consume(consumer="c")

    assert not UserPostStats.objects.filter(user_id=user_id).exists()
    assert PostHourlyStats.objects.get(post_id=post.pk).plays == 1
    assert selectors.seen_post_ids(user_id=user_id) == []
