"""Content's "render this upload again" (a new cover, a chosen or taken-down sound) goes
through the task outbox (apps.core.outbox): asked while the broker (the project's Redis) is
unavailable, the edit commits, media's `recipe_changed` waits in PostgreSQL and reaches the
broker once it is back. Before, it was `.delay()`ed after the commit and dropped with a log
line; nothing sweeps for a stale render, so the old cover (or a taken-down sound) stayed."""

from __future__ import annotations

import pytest

from apps.content.models import Post
from apps.content.services import post_update
from apps.core import outbox, redis_health
from apps.core.models import OutboxTask
from tests.conftest import open_redis_breaker, waiting_task_args
from tests.content.factories import PostFactory

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("broker_unconsumed")]


def test_a_new_cover_chosen_while_the_broker_is_down_is_rendered_once_it_is_back() -> None:
    post = PostFactory()
    open_redis_breaker()

    post_update(user=post.author, post_id=post.pk, cover_time_ms=1200)
    assert Post.objects.get(pk=post.pk).cover_time_ms == 1200  # the edit commits
    row = OutboxTask.objects.get(task="apps.media.recipe_changed")
    assert (row.args, row.dispatched_at) == ([post.asset_id], None)
    assert waiting_task_args("apps.media.recipe_changed") == []

    redis_health.reset_all()  # the broker is back
    assert outbox.outbox_dispatch() == 1
    assert waiting_task_args("apps.media.recipe_changed") == [[post.asset_id]]
