"""Deactivation, deletion with a grace period, the purge and its removal hooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.utils import timezone

from apps.accounts import hooks, services
from apps.accounts.models import Device, User
from tests.accounts.conftest import PASSWORD, MobileClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _logged_in(user, device_id: str = "phone-1") -> MobileClient:
    client = MobileClient(device_id=device_id)
    assert client.login(user.username).status_code == 200
    return client


def _reauthenticated(user, device_id: str = "phone-1") -> MobileClient:
    client = _logged_in(user, device_id)
    client.reauthenticate()
    return client


def test_deactivate_ends_sessions_and_logging_in_reactivates(user):
    phone = _reauthenticated(user)
    tablet = _logged_in(user, "tablet-1")

    response = phone.post("/api/v1/me/deactivate")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.deactivated_at is not None
    assert not user.is_discoverable
    assert phone.get("/api/v1/me").status_code == 401
    assert tablet.get("/api/v1/me").status_code == 401

    again = _logged_in(user)
    user.refresh_from_db()
    assert user.deactivated_at is None
    assert again.get("/api/v1/me").json()["deactivated_at"] is None


def test_delete_schedules_after_the_grace_period_and_login_cancels(user, settings):
    phone = _reauthenticated(user)
    before = timezone.now()
    response = phone.post("/api/v1/me/delete", {"password": PASSWORD})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.deletion_scheduled_for >= before + settings.SWIPEME_DELETION_GRACE
    assert not UserSession.objects.filter(user=user).exists()
    assert phone.get("/api/v1/me").status_code == 401

    _logged_in(user)
    user.refresh_from_db()
    assert user.deletion_scheduled_for is None


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": "wrong-password"}])
def test_delete_needs_the_current_password_and_changes_nothing_without_it(user, body):
    phone = _reauthenticated(user)
    response = phone.post("/api/v1/me/delete", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_incorrect"
    assert "password" in response.json()["error"]["fields"]
    user.refresh_from_db()
    assert user.deletion_scheduled_for is None
    assert phone.get("/api/v1/me").status_code == 200


def test_cancel_endpoint(auth_client, user):
    services.user_deletion_schedule(user=user, password=PASSWORD)
    response = auth_client.post("/api/v1/me/delete/cancel")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.deletion_scheduled_for is None


def test_lifecycle_endpoints_need_authentication(api_client, user):
    for path in ("/api/v1/me/deactivate", "/api/v1/me/delete", "/api/v1/me/delete/cancel"):
        assert api_client.post(path).status_code == 401
    user.refresh_from_db()
    assert user.deactivated_at is None
    assert user.deletion_scheduled_for is None


def test_purge_deletes_only_due_accounts_and_runs_the_removal_hooks():
    due = UserFactory()
    Device.objects.create(user=due, device_identifier="x")
    not_yet = UserFactory()
    keeper = UserFactory()
    User.objects.filter(pk=due.pk).update(deletion_scheduled_for=timezone.now() - timedelta(1))
    User.objects.filter(pk=not_yet.pk).update(
        deletion_scheduled_for=timezone.now() + timedelta(days=3))
    seen: list[int] = []

    def record(*, user_id: int) -> None:
        assert User.objects.filter(pk=user_id).exists()  # hooks run before the delete
        seen.append(user_id)

    hooks.register_account_removal_hook(record)
    try:
        purged = services.users_purge_due(batch_size=1)
    finally:
        hooks.unregister_account_removal_hook(record)

    assert purged == 1
    assert seen == [due.pk]
    assert not User.objects.filter(pk=due.pk).exists()
    assert not Device.objects.filter(user_id=due.pk).exists()
    assert User.objects.filter(pk__in=[not_yet.pk, keeper.pk]).count() == 2
    # running it again is harmless
    assert services.users_purge_due() == 0


def test_a_failing_hook_leaves_the_account_in_place():
    due = UserFactory()
    User.objects.filter(pk=due.pk).update(deletion_scheduled_for=timezone.now() - timedelta(1))

    def broken(*, user_id: int) -> None:
        raise RuntimeError("social is down")

    hooks.register_account_removal_hook(broken)
    try:
        with pytest.raises(RuntimeError):
            services.users_purge_due()
    finally:
        hooks.unregister_account_removal_hook(broken)
    assert User.objects.filter(pk=due.pk).exists()


def test_purge_is_scheduled_daily(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["task"] == "accounts.purge_due_deletions"]
    assert len(entries) == 1
    assert entries[0]["schedule"] == timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_purger_is_skipped_not_waited_for():
    import threading

    from django.db import connection, transaction

    due = UserFactory()
    User.objects.filter(pk=due.pk).update(deletion_scheduled_for=timezone.now() - timedelta(1))
    locked = threading.Event()
    release = threading.Event()

    def other_purger() -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=due.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_purger)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        # while another worker holds the row, this purge skips it instead of blocking
        assert services.users_purge_due() == 0
        assert User.objects.filter(pk=due.pk).exists()
    finally:
        release.set()
        thread.join(timeout=30)
    assert services.users_purge_due() == 1
    assert not User.objects.filter(pk=due.pk).exists()
