"""Sessions and devices: listing, revoking (the token stops working), push tokens."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession

from apps.accounts.models import Device
from tests.accounts.conftest import MobileClient, error_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _logged_in(user, device_id: str, platform: str = "ios") -> MobileClient:
    client = MobileClient(device_id=device_id, platform=platform)
    assert client.login(user.username).status_code == 200
    return client


def test_sessions_list_shows_devices_and_marks_the_current_one(user):
    phone = _logged_in(user, "phone-1")
    tablet = _logged_in(user, "tablet-1", platform="android")

    response = phone.get("/api/v1/me/sessions")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2
    current = [row for row in rows if row["is_current"]]
    assert len(current) == 1
    assert current[0]["device"]["device_identifier"] == "phone-1"
    assert {row["device"]["platform"] for row in rows} == {"ios", "android"}
    assert all(isinstance(row["id"], str) for row in rows)
    assert tablet.token != phone.token


def test_ending_one_session_kills_its_token(user):
    phone = _logged_in(user, "phone-1")
    tablet = _logged_in(user, "tablet-1")
    tablet_session = UserSession.objects.get(session_key=tablet.token)

    response = phone.delete(f"/api/v1/me/sessions/{tablet_session.pk}")
    assert response.status_code == 204
    assert tablet.get("/api/v1/me").status_code == 401
    assert phone.get("/api/v1/me").status_code == 200
    assert not UserSession.objects.filter(pk=tablet_session.pk).exists()
    # the device stays listed, without a session
    assert Device.objects.get(device_identifier="tablet-1").session_key == ""


def test_another_users_session_is_a_404_and_survives(user):
    phone = _logged_in(user, "phone-1")
    stranger = UserFactory()
    theirs = _logged_in(stranger, "their-phone")
    their_session = UserSession.objects.get(session_key=theirs.token)

    for session_id in (their_session.pk, 2**63 - 1, 2**70):
        response = phone.delete(f"/api/v1/me/sessions/{session_id}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert UserSession.objects.filter(pk=their_session.pk).exists()
    assert theirs.get("/api/v1/me").status_code == 200


def test_revoke_all_keeping_the_current_session(user):
    phone = _logged_in(user, "phone-1")
    others = [_logged_in(user, f"other-{n}") for n in range(2)]

    response = phone.post("/api/v1/me/sessions/revoke-all", {"keep_current": True})
    assert response.status_code == 200
    assert response.json() == {"ended": 2}
    assert phone.get("/api/v1/me").status_code == 200
    for other in others:
        assert other.get("/api/v1/me").status_code == 401


def test_revoke_all_including_the_current_session(user):
    phone = _logged_in(user, "phone-1")
    response = phone.post("/api/v1/me/sessions/revoke-all", {"keep_current": False})
    assert response.json() == {"ended": 1}
    assert phone.get("/api/v1/me").status_code == 401
    assert not UserSession.objects.filter(user=user).exists()


def test_revoke_all_refuses_a_wrong_type(user):
    phone = _logged_in(user, "phone-1")
    response = phone.post("/api/v1/me/sessions/revoke-all", {"keep_current": "maybe"})
    assert response.status_code == 400
    assert "keep_current" in error_of(response)["fields"]
    assert UserSession.objects.filter(user=user).count() == 1


def test_logging_in_again_from_the_same_install_updates_its_device(user):
    _logged_in(user, "phone-1")
    second = _logged_in(user, "phone-1")
    device = Device.objects.get(user=user)
    assert device.session_key == second.token


def test_devices_list_and_set_a_push_token(user):
    phone = _logged_in(user, "phone-1")
    response = phone.get("/api/v1/me/devices")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["has_push_token"] is False

    response = phone.patch(f"/api/v1/me/devices/{row['id']}", {"push_token": "apns-abc"})
    assert response.status_code == 200
    assert response.json()["has_push_token"] is True
    assert Device.objects.get(pk=int(row["id"])).push_token == "apns-abc"


def test_another_users_device_cannot_be_edited(user):
    phone = _logged_in(user, "phone-1")
    stranger = UserFactory()
    _logged_in(stranger, "their-phone")
    theirs = Device.objects.get(user=stranger)

    response = phone.patch(f"/api/v1/me/devices/{theirs.pk}", {"push_token": "hijack"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.push_token == ""


def test_a_push_token_is_set_only_from_the_devices_own_session(user):
    """Any session of the account could point another device's pushes (security notices,
    messages) at a token of its choosing; now only the device's own session sets it."""
    phone = _logged_in(user, "phone-1")
    tablet = _logged_in(user, "tablet-1", platform="android")
    tablets_device = Device.objects.get(user=user, device_identifier="tablet-1")
    Device.objects.filter(pk=tablets_device.pk).update(push_token="tablet-token")

    response = phone.patch(f"/api/v1/me/devices/{tablets_device.pk}",
                           {"push_token": "attacker-token"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert "device you are using" in error_of(response)["message"]
    tablets_device.refresh_from_db()
    assert tablets_device.push_token == "tablet-token"

    response = tablet.patch(f"/api/v1/me/devices/{tablets_device.pk}", {"push_token": "new"})
    assert response.status_code == 200
    tablets_device.refresh_from_db()
    assert tablets_device.push_token == "new"


def test_a_push_token_registered_by_another_account_leaves_the_previous_one(user):
    """One phone, two accounts in turn: the token follows the account now logged in there,
    so the first account's notifications stop reaching the second person's phone."""
    first = _logged_in(user, "phone-1")
    mine = Device.objects.get(user=user)
    assert first.patch(f"/api/v1/me/devices/{mine.pk}",
                       {"push_token": "shared"}).status_code == 200
    other = UserFactory()
    second = _logged_in(other, "phone-1")
    theirs = Device.objects.get(user=other)
    assert second.patch(f"/api/v1/me/devices/{theirs.pk}",
                        {"push_token": "shared"}).status_code == 200
    assert Device.objects.get(pk=mine.pk).push_token == ""
    assert Device.objects.get(pk=theirs.pk).push_token == "shared"


@pytest.mark.parametrize("payload", [{"push_token": "x" * 513}, {"push_token": ["a"]},
                                     {"push_token": None}, {}])
def test_push_token_bad_input(user, payload):
    phone = _logged_in(user, "phone-1")
    device = Device.objects.get(user=user)
    response = phone.patch(f"/api/v1/me/devices/{device.pk}", payload)
    assert response.status_code == 400
    device.refresh_from_db()
    assert device.push_token == ""


def test_session_and_device_lists_do_not_grow_queries_with_page_size(
        user, django_assert_max_num_queries):
    phone = _logged_in(user, "phone-0")
    for n in range(1, 12):
        _logged_in(user, f"phone-{n}")
    for size in (2, 12):
        with django_assert_max_num_queries(6):
            response = phone.get(f"/api/v1/me/sessions?page_size={size}")
        assert len(response.json()["results"]) == size
        with django_assert_max_num_queries(5):
            response = phone.get(f"/api/v1/me/devices?page_size={size}")
        assert len(response.json()["results"]) == size


def test_lists_need_authentication(api_client):
    for path in ("/api/v1/me/sessions", "/api/v1/me/devices"):
        assert api_client.get(path).status_code == 401
