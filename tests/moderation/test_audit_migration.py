"""Moderation's audit rows move into the one audit trail (moderation 0002): each existing
row keeps its id, actor, verb, target, reason and data in `core.AuditEvent` (app
`moderation`), and its case, action and policy in `moderation.AuditEvent`; reversible."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from apps.moderation.models import AuditEvent
from apps.moderation.services import case_open_or_merge
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.migration_graph import migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("moderation", "0001_initial")]


def _migrate(targets: list[tuple[str, str]]) -> None:
    migrate(["moderation"], targets)


def _migrate_forward() -> None:
    """Back to moderation's latest migration (0002 and every later one, and whatever the move
    back unapplied): the tests after this module need the whole schema."""
    migrate(["moderation"])


def test_existing_rows_are_carried_into_the_core_trail_and_back():
    actor = UserFactory()
    case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                              source="automated", policy="spam_scam")
    target_id = case.target_id
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO moderation_auditevent (actor_id, verb, case_id, action_id, "
                "target_type, target_id, policy, reason, data, created_at) VALUES "
                "(%s, 'case_claimed', %s, NULL, 'post', %s, 'spam_scam', 'mine', %s, now()) "
                "RETURNING id", [actor.pk, case.pk, target_id, json.dumps({"ttl": 900})])
            (old_id,) = cursor.fetchone()
    finally:
        _migrate_forward()

    row = AuditEvent.objects.get(verb="case_claimed")
    assert (row.pk, row.actor_id, row.app, row.verb, row.case_id, row.target_type,
            row.target_id, row.policy, row.reason, row.data) == (
        old_id, actor.pk, "moderation", "case_claimed", case.pk, "post", target_id, "spam_scam",
        "mine", {"ttl": 900})
    assert "case_claimed" in case.audit.values_list("verb", flat=True)

    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, actor_id, verb, case_id, target_id, reason, "
                           "data ->> 'ttl' FROM moderation_auditevent "
                           "WHERE verb = 'case_claimed'")
            assert cursor.fetchall() == [(old_id, actor.pk, "case_claimed", case.pk, target_id,
                                          "mine", "900")]
            cursor.execute("SELECT count(*) FROM core_auditevent WHERE app = 'moderation'")
            assert cursor.fetchone() == (0,)
    finally:
        _migrate_forward()
