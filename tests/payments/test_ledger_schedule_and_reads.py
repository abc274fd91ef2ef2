"""Issue 17's audit (helper A17): balances are read in O(1) (one query on the maintained
account rows, never a sum over transfers, however many transfers there are), and the
ledger's and the money's periodic tasks are on the beat schedule under names the worker
knows (the nightly reconciliation, the expired holds' sweep, the local provider's
redelivery, subscription renewal)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.schedules import crontab
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.payments import selectors
from apps.payments.services import ledger
from swipeme_site.celery import app as celery_app
from tests.factories import UserFactory
from tests.payments.ledger_helpers import fund, gift_legs, key


def _reads(viewer_id: int, creator_id: int) -> tuple[list[str], tuple[int, int]]:
    with CaptureQueriesContext(connection) as captured:
        coins = selectors.wallet_coins(viewer_id)
        earned = selectors.earnings_balance(creator_id).balance
    return [q["sql"] for q in captured.captured_queries], (coins, earned)


@pytest.mark.django_db
def test_balances_are_read_from_the_account_rows_in_one_query_each() -> None:
    viewer, creator = UserFactory(), UserFactory()
    fund(viewer.pk, 1_000)
    ledger.post_transfers(key=key("gift"), code="gift", legs=gift_legs(viewer.pk, creator.pk, 1))
    few, values = _reads(viewer.pk, creator.pk)
    assert values == (999, 7_000)
    for _ in range(60):
        ledger.post_transfers(key=key("gift"), code="gift",
                              legs=gift_legs(viewer.pk, creator.pk, 1))
    many, values = _reads(viewer.pk, creator.pk)
    assert values == (939, 61 * 7_000)
    assert len(few) == len(many) == 2  # one per balance, with 2 or 62 sets behind it
    for sql in many:
        assert '"payments_ledgeraccount"' in sql
        assert '"payments_transfer"' not in sql, sql
        assert '"payments_transferset"' not in sql, sql


def _entries(settings: Any, task: str) -> list[dict[str, Any]]:
    return [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == task]


def test_the_money_tasks_are_on_the_beat_schedule(settings: Any) -> None:
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks)
    expected = {
        "apps.payments.reconcile_ledger": crontab(hour=3, minute=17),  # nightly
        "apps.payments.void_expired_holds": timedelta(minutes=5),
        "payments.redeliver_local_events": timedelta(minutes=1),
        "apps.monetization.renew_subscriptions": timedelta(minutes=10),
    }
    for task, schedule in expected.items():
        entries = _entries(settings, task)
        assert len(entries) == 1, task
        assert entries[0]["schedule"] == schedule, task
        assert task in registered, task  # a name the worker runs, not a typo


@pytest.mark.django_db
def test_a_reconciliation_difference_mails_the_admins(settings: Any) -> None:
    from django.core import mail

    from apps.payments.services.reconcile import reconcile_ledger
    from tests.payments.ledger_helpers import wallet

    settings.ADMINS = [("Finance on call", "finance@example.com")]
    viewer = UserFactory()
    fund(viewer.pk, 25)
    assert reconcile_ledger().differences == 0
    assert mail.outbox == []  # a clean run mails nobody
    with connection.cursor() as cursor:  # a hand edit around the trigger (rolled back)
        cursor.execute("ALTER TABLE payments_ledgeraccount DISABLE TRIGGER "
                       "payments_ledgeraccount_guard")
        cursor.execute("UPDATE payments_ledgeraccount SET debits_posted = debits_posted + 3 "
                       "WHERE id = %s", [wallet(viewer.pk).pk])
        cursor.execute("ALTER TABLE payments_ledgeraccount ENABLE TRIGGER "
                       "payments_ledgeraccount_guard")
    run = reconcile_ledger()
    assert run.differences == 2  # the wallet's debits, and the COIN books
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["finance@example.com"]
    assert "Ledger reconciliation: 2 differences" in message.subject
    assert f"Run {run.pk}" in message.body
