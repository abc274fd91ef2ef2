"""Two staff members doing the same thing at once: the row changes once and the audit trail
says so once (the conditional UPDATE is re-checked after the row lock), not twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from apps.accounts.models import User
from apps.accounts.services import users_set_verified
from apps.content.services import sounds_take_down
from apps.core.models import AuditEvent
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(first_holds: Callable[[], object], second: Callable[[], object]) -> None:
    """Run `first_holds` in a transaction kept open for a moment, and `second` meanwhile in
    another thread (it reads before the first commits, then waits for its row lock)."""
    started = threading.Event()

    def other() -> None:
        started.wait(5)
        try:
            second()
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    with transaction.atomic():
        first_holds()
        started.set()
        time.sleep(0.5)
    thread.join(10)
    assert not thread.is_alive()


def test_two_staff_verifying_the_same_account_leave_one_row():
    staff_a, staff_b = UserFactory(is_staff=True), UserFactory(is_staff=True)
    target = UserFactory()
    _race(lambda: users_set_verified(user_ids=[target.pk], verified=True, actor=staff_a),
          lambda: users_set_verified(user_ids=[target.pk], verified=True, actor=staff_b))
    assert User.objects.get(pk=target.pk).is_verified
    assert list(AuditEvent.objects.values_list("actor_id", "verb", "target_id")) == [
        (staff_a.pk, "verify", target.pk)]


def test_two_staff_taking_the_same_sound_down_leave_one_row():
    staff_a, staff_b = UserFactory(is_staff=True), UserFactory(is_staff=True)
    sound = LibrarySoundFactory()
    _race(lambda: sounds_take_down(sound_ids=[sound.pk], actor=staff_a),
          lambda: sounds_take_down(sound_ids=[sound.pk], actor=staff_b))
    assert list(AuditEvent.objects.values_list("actor_id", "verb", "target_id")) == [
        (staff_a.pk, "sound_take_down", sound.pk)]
