"""GET/PATCH /api/v1/me and the username change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from tests.accounts.conftest import error_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _snapshot(user: User) -> dict[str, object]:
    user.refresh_from_db()
    return {f: getattr(user, f) for f in ("username", "display_name", "bio", "links",
                                          "is_private", "is_verified", "email",
                                          "date_of_birth", "username_changed_at")}


def test_me_needs_authentication(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_me_renders_the_profile_with_a_string_id(auth_client, user):
    body = auth_client.get("/api/v1/me").json()
    assert body["id"] == str(user.pk)
    assert body["username"] == user.username
    assert body["avatar"] is None
    assert body["is_minor"] is False
    assert body["date_of_birth"] == "1995-06-01"


def test_patch_updates_the_editable_fields(auth_client, user):
    response = auth_client.patch("/api/v1/me", {
        "display_name": "Nina K", "bio": "hello", "links": ["https://nina.example/a",
                                                            "http://b.example"],
        "is_private": True,
    }, format="json")
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.is_private) == ("Nina K", "hello", True)
    assert user.links == ["https://nina.example/a", "http://b.example"]


def test_patch_cannot_touch_verified_email_or_birthday(auth_client, user):
    before = _snapshot(user)
    response = auth_client.patch("/api/v1/me", {
        "is_verified": True, "email": "evil@example.com", "date_of_birth": "2001-01-01",
        "followers_count": 10**6, "username": "newname",
    }, format="json")
    assert response.status_code == 200
    assert _snapshot(user) == before
    assert response.json()["is_verified"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"display_name": "x" * 51}, "display_name"),
     ({"bio": "x" * 161}, "bio"),
     ({"links": ["https://a.example"] * 6}, "links"),
     ({"links": ["javascript:alert(1)"]}, "links.0"),
     ({"links": ["ftp://files.example/x"]}, "links.0"),
     ({"links": "https://a.example"}, "links"),
     ({"links": [{"url": "https://a.example"}]}, "links.0"),
     ({"is_private": "perhaps"}, "is_private"),
     ({"display_name": ["a"]}, "display_name")],
)
def test_patch_refuses_bad_input_and_changes_nothing(auth_client, user, payload, field):
    before = _snapshot(user)
    response = auth_client.patch("/api/v1/me", payload, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert _snapshot(user) == before


def test_malformed_json_is_a_400_in_the_error_shape(auth_client, user):
    before = _snapshot(user)
    response = auth_client.patch("/api/v1/me", data=b'{"bio": "x", ',
                                 content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    assert _snapshot(user) == before


def test_username_change_then_cooldown(reauthed_client, user):
    response = reauthed_client.post("/api/v1/me/username", {"username": "fresh.name"},
                                    format="json")
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert user.username == "fresh.name"
    assert user.username_changed_at is not None
    assert response.json()["username_change_available_at"]

    # a second change inside the cool-down is refused and changes nothing
    before = _snapshot(user)
    response = reauthed_client.post("/api/v1/me/username", {"username": "other.name"},
                                    format="json")
    assert response.status_code == 429
    assert error_of(response)["code"] == "username_cooldown"
    assert _snapshot(user) == before


def test_username_change_allowed_after_the_cooldown(reauthed_client, user, settings):
    cooldown = settings.SWIPEME_USERNAME_CHANGE_COOLDOWN
    user.username_changed_at = timezone.now() - cooldown - timedelta(minutes=1)
    user.save(update_fields=["username_changed_at"])
    response = reauthed_client.post("/api/v1/me/username", {"username": "later.name"},
                                    format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("username", ["admin", "a", "bad..name", "pаypal", "Taken_One",
                                      "taken_0ne", "x" * 60])
def test_username_change_refuses_bad_or_taken_names(reauthed_client, user, username):
    UserFactory(username="taken_one")
    before = _snapshot(user)
    response = reauthed_client.post("/api/v1/me/username", {"username": username}, format="json")
    assert response.status_code == 400
    assert "username" in error_of(response)["fields"]
    assert _snapshot(user) == before
