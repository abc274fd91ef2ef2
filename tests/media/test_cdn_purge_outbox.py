"""A retired public version's CDN purge goes through the task outbox (apps.core.outbox):
retired while the broker (the project's Redis) is unavailable, the purge waits in
PostgreSQL and reaches the broker once it is back. Before, it was `.delay()`ed after the
commit and dropped with a log line, and the edge kept serving a post made private or
removed for as long as it caches (`immutable`, a year). The purge itself against a CDN is
tests/content/test_public_media.py."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.core import outbox, redis_health
from apps.core.models import OutboxTask
from apps.media import cdn
from apps.media.playback import public_prefix
from tests.conftest import open_redis_breaker, waiting_task_args

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("broker_unconsumed")]


def test_a_purge_due_while_the_broker_is_down_is_sent_once_it_is_back(settings) -> None:
    settings.MEDIA_CDN_PURGE_URL = "http://127.0.0.1:9/cdn"  # never called: no worker here
    open_redis_breaker()

    with transaction.atomic():  # as content calls it, inside its visibility change
        cdn.asset_public_urls_retired(asset_id=7, version=3)
    row = OutboxTask.objects.get(task="apps.media.purge_public_urls")
    assert (row.args, row.dispatched_at) == ([public_prefix(7, 3)], None)
    assert waiting_task_args("apps.media.purge_public_urls") == []

    redis_health.reset_all()  # the broker is back
    assert outbox.outbox_dispatch() == 1
    assert [args[0] for args in waiting_task_args("apps.media.purge_public_urls")] == [
        public_prefix(7, 3)]


def test_without_a_purge_url_nothing_is_queued(settings) -> None:
    settings.MEDIA_CDN_PURGE_URL = ""
    with transaction.atomic():
        cdn.asset_public_urls_retired(asset_id=7, version=3)
    assert not OutboxTask.objects.exists()
