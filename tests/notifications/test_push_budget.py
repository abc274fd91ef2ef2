"""Per-recipient, per-channel push budgets (token buckets in Redis): over budget nothing is
sent and the outcome says rate_limited; a retried message is not charged twice; each
channel has its own bucket; the bucket refills with time."""

from __future__ import annotations

import pytest

from apps.accounts.models import Device
from apps.notifications.push import budget, deliver_push
from tests.factories import UserFactory
from tests.notifications.push_servers import SUBSCRIPTIONS_URL as URL
from tests.notifications.push_servers import push_device, push_message
from tests.notifications.push_servers import signed_in as _client

pytestmark = pytest.mark.django_db


def test_over_the_hourly_budget_nothing_is_sent(webpush_service, settings):
    settings.SWIPEME_PUSH_PER_HOUR = 3
    user = UserFactory()
    assert _client(user).post(URL, webpush_service.subscription().to_json(),
                              format="json").status_code == 201
    outcomes = [deliver_push(user_id=user.pk, message=push_message(n)) for n in range(5)]
    assert [o.sent for o in outcomes] == [1, 1, 1, 0, 0]
    assert [o.rate_limited for o in outcomes] == [False, False, False, True, True]
    assert len(webpush_service.to("/push/")) == 3

    # the same message again (the core's retry) is neither charged nor sent twice
    again = deliver_push(user_id=user.pk, message=push_message(0))
    assert (again.sent, again.rate_limited) == (1, False)
    assert len(webpush_service.to("/push/")) == 3


def test_the_bucket_refills_with_time(webpush_service, settings):
    settings.SWIPEME_PUSH_PER_HOUR = 1
    user = UserFactory()
    _client(user).post(URL, webpush_service.subscription().to_json(), format="json")
    assert deliver_push(user_id=user.pk, message=push_message(1)).sent == 1
    assert deliver_push(user_id=user.pk, message=push_message(2)).rate_limited
    # an hour later, by the bucket's own clock: the stamp moved back an hour
    client = budget.redis_client()
    key = budget.bucket_key(user.pk, "webpush")
    client.hset(key, "ts", str(float(str(client.hget(key, "ts"))) - 3600))
    assert deliver_push(user_id=user.pk, message=push_message(3)).sent == 1


def test_each_channel_has_its_own_bucket(webpush_service, fcm_service, settings):
    settings.SWIPEME_PUSH_PER_HOUR = 1
    user = UserFactory()
    _client(user).post(URL, webpush_service.subscription().to_json(), format="json")
    assert deliver_push(user_id=user.pk, message=push_message(1)).sent == 1  # web only
    push_device(user, Device.Platform.ANDROID, "pixel")
    outcome = deliver_push(user_id=user.pk, message=push_message(2))
    # the browser's budget is spent, the phone's is not: it still gets this one
    assert (outcome.sent, outcome.rate_limited) == (1, False)
    assert len(webpush_service.to("/push/")) == 1
    assert len(fcm_service.to("pixel")) == 1
    outcome = deliver_push(user_id=user.pk, message=push_message(3))
    assert (outcome.sent, outcome.rate_limited) == (0, True)


def test_budgets_are_per_recipient(webpush_service, settings):
    settings.SWIPEME_PUSH_PER_HOUR = 1
    first, second = UserFactory(), UserFactory()
    for user in (first, second):
        _client(user).post(URL, webpush_service.subscription().to_json(), format="json")
    assert deliver_push(user_id=first.pk, message=push_message(1)).sent == 1
    assert deliver_push(user_id=second.pk, message=push_message(1)).sent == 1


def test_a_user_with_no_targets_spends_nothing(settings):
    settings.SWIPEME_PUSH_PER_HOUR = 1
    user = UserFactory()
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.rate_limited) == (0, False)
    assert not budget.redis_client().exists(budget.bucket_key(user.pk, "webpush"))
