"""Ban evasion by device id and IP (sign-up and log-in through allauth's headless API), and
protected minors' accounts private from sign-up."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Device, User
from apps.moderation.models import BanSignal, Case
from apps.moderation.services import enforce
from tests.accounts.conftest import APP, PASSWORD, MobileClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signup(client: MobileClient, username: str, born: str = "2000-01-01") -> Any:
    return client.post(f"{APP}/auth/signup", {
        "email": f"{username}@example.com", "username": username, "password": PASSWORD,
        "date_of_birth": born})


def _ban_user_seen_on(device: str, ip: str = "203.0.113.7") -> User:
    banned = UserFactory()
    Device.objects.create(user=banned, device_identifier=device, ip=ip, session_key="s")
    enforce(action="ban", target_type="user", target_id=banned.pk, policy="spam_scam",
            reason="spam ring")
    return banned


def test_a_banned_device_cannot_sign_up_or_log_in_to_another_account():
    banned = _ban_user_seen_on("install-banned")
    assert set(BanSignal.objects.values_list("kind", "value")) == {
        ("device", "install-banned"), ("ip", "203.0.113.7")}

    response = _signup(MobileClient(device_id="install-banned"), "newname")
    assert response.status_code == 403  # allauth: sign-up closed
    assert not User.objects.filter(username="newname").exists()

    other = UserFactory()
    response = MobileClient(device_id="install-banned").login(other.username)
    assert response.status_code == 401
    assert "session_token" not in (response.json().get("meta") or {})
    flagged = Case.objects.get(target_type="user", target_id=other.pk)
    assert flagged.evidence[0]["signal"] == "ban_evasion"
    assert flagged.evidence[0]["banned_user_id"] == str(banned.pk)
    assert flagged.priority == 1

    # a clean device signs up fine
    assert _signup(MobileClient(device_id="install-clean"), "fresh").status_code == 401
    assert User.objects.filter(username="fresh").exists()  # (e-mail verification pending)


def test_a_banned_ip_only_flags_a_log_in():
    _ban_user_seen_on("install-x", ip="127.0.0.1")  # the test client's address
    other = UserFactory()
    response = MobileClient(device_id="install-y").login(other.username)
    assert response.status_code == 200
    assert Case.objects.get(target_type="user", target_id=other.pk).evidence[0]["kind"] == "ip"


def test_lifting_a_ban_lifts_its_signals():
    banned = _ban_user_seen_on("install-z")
    enforce(action="restore", target_type="user", target_id=banned.pk, policy="spam_scam",
            reason="mistaken identity")
    assert User.objects.get(pk=banned.pk).is_active
    assert not BanSignal.objects.filter(lifted_at__isnull=True).exists()
    assert _signup(MobileClient(device_id="install-z"), "cleared").status_code == 401


@pytest.mark.parametrize(("age", "private"), [(14, True), (15, True), (16, False), (30, False)])
def test_protected_minors_start_private(age, private):
    # born on 1 January `age` years ago: exactly `age` today
    born = date(timezone.localdate().year - age, 1, 1)
    _signup(MobileClient(), f"kid{age}", born=born.isoformat())
    assert User.objects.get(username=f"kid{age}").is_private is private
