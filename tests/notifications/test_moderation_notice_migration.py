"""notifications 0006 + moderation 0004: the notices' read state moves into the inbox
(the one read state). A notice read on the old page marks its inbox row read, a row of
the old single "moderation" type gets its notice's type, and a notice told before the
inbox existed gets its row (read or unread as it was, told once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.moderation.models import Notice
from apps.moderation.services import enforce
from apps.notifications.models import Notification, NotificationEvent
from tests.engagement.factories import PublishedPostFactory
from tests.migration_graph import migrate
from tests.notifications.inbox_helpers import run_notification_tasks

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("notifications", "0005_fanout_checkpoint"), ("moderation", "0003_search_ban")]
AFTER = None  # both apps' latest (and whatever the move back unapplied)


def _migrate(targets: list[tuple[str, str]] | None) -> None:
    migrate(["notifications", "moderation"], targets)


def test_the_notices_read_state_and_types_move_into_the_inbox() -> None:
    post = PublishedPostFactory()
    creator = post.author
    for action in ("age_restrict", "remove", "strike"):
        enforce(action=action, target_type="post", target_id=post.pk, policy="spam_scam",
                reason="Spam.")
    run_notification_tasks()
    restricted, removed, struck = (Notice.objects.get(user=creator, kind=kind)
                                   for kind in ("age_restrict", "remove", "strike"))
    read_on_old_page = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            # as the old code left them: one "moderation" type, the read state on the
            # notice, and the strike's notice never told in the inbox
            cursor.execute("UPDATE notifications_notification SET type = 'moderation', "
                           "read_at = NULL WHERE recipient_id = %s", [creator.pk])
            cursor.execute("UPDATE moderation_notice SET read_at = %s WHERE id IN (%s, %s)",
                           [read_on_old_page, restricted.pk, struck.pk])
            cursor.execute("DELETE FROM notifications_notificationevent WHERE key = %s",
                           [f"notice:{struck.pk}"])
            cursor.execute("DELETE FROM notifications_delivery WHERE notification_id IN "
                           "(SELECT id FROM notifications_notification WHERE target_id = %s)",
                           [struck.pk])
            cursor.execute("DELETE FROM notifications_notification WHERE target_id = %s",
                           [struck.pk])
    finally:
        _migrate(AFTER)
    assert ("notifications", "0006_moderation_notice_types") in \
        MigrationExecutor(connection).loader.applied_migrations

    rows = {n.target_id: n for n in Notification.objects.filter(recipient=creator)}
    assert {pk: (rows[pk].type, rows[pk].read_at) for pk in rows} == {
        restricted.pk: ("moderation_limit", read_on_old_page),
        removed.pk: ("moderation_removal", None),
        struck.pk: ("moderation_account", read_on_old_page),
    }
    told = rows[struck.pk]
    assert told.data["title"] == "Your account received a strike"
    assert told.data["appeal_path"].startswith("/moderation/appeal/")
    assert told.seq == max(n.seq for n in rows.values())  # after the inbox's last seq
    assert told.created_at == struck.created_at
    assert NotificationEvent.objects.get(key=f"notice:{struck.pk}").notification_id == told.pk
    # the hook's task running again does not tell it twice
    from apps.notifications.tasks import handle_event

    handle_event("notice_issued", {"notice_id": struck.pk})
    assert Notification.objects.filter(target_id=struck.pk).count() == 1
