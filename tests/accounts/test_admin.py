"""The staff admin for users and devices."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Device, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_user_admin_search_and_filters(staff_client):
    UserFactory(username="findme", display_name="Needle Person")
    gone = UserFactory(username="leaving")
    User.objects.filter(pk=gone.pk).update(deletion_scheduled_for=timezone.now())
    response = staff_client.get("/django-admin/accounts/user/", {"q": "needle"})
    assert response.status_code == 200
    assert "findme" in response.content.decode()
    for query in ({"is_verified__exact": "1"}, {"is_private__exact": "0"},
                  {"deactivated": "yes"}, {"deletion_scheduled": "yes"}, {"is_staff__exact": "1"}):
        assert staff_client.get("/django-admin/accounts/user/", query).status_code == 200
    response = staff_client.get("/django-admin/accounts/user/", {"deletion_scheduled": "yes"})
    assert "leaving" in response.content.decode()


def test_verified_badge_action(staff_client):
    target = UserFactory()
    response = staff_client.post("/django-admin/accounts/user/", {
        "action": "mark_verified", "_selected_action": [target.pk]})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_verified
    staff_client.post("/django-admin/accounts/user/", {
        "action": "unmark_verified", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert not target.is_verified


def test_user_change_page_and_device_admin(staff_client):
    target = UserFactory()
    Device.objects.create(user=target, platform="android", device_identifier="abc-123")
    assert staff_client.get(f"/django-admin/accounts/user/{target.pk}/change/").status_code == 200
    response = staff_client.get("/django-admin/accounts/device/", {"q": "abc-123",
                                                                  "platform__exact": "android"})
    assert response.status_code == 200
    assert "abc-123" in response.content.decode()


def test_non_staff_cannot_use_the_admin():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.post("/django-admin/accounts/user/", {
        "action": "mark_verified", "_selected_action": [user.pk]})
    assert response.status_code == 302  # to the admin login
    user.refresh_from_db()
    assert not user.is_verified
