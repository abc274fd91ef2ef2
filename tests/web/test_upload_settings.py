"""The upload page, the settings pages and the caption suggestions."""

from __future__ import annotations

import json

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from apps.accounts.models import User
from apps.engagement.selectors import shows_liked_posts
from apps.web.views_suggest import SuggestThrottle
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db


def _config(response) -> dict:  # type: ignore[no-untyped-def, type-arg]
    html = response.content.decode()
    raw = html.split('<script id="upload-config" type="application/json">', 1)[1]
    return json.loads(raw.split("</script>", 1)[0])  # type: ignore[no-any-return]


# --- upload -------------------------------------------------------------------------------------


def test_the_upload_page_needs_a_signed_in_user(browser_for):
    response = browser_for(None).get("/upload")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/upload")


def test_the_upload_page_points_its_script_at_the_real_endpoints(browser_for):
    user = UserFactory(username="creator")
    response = browser_for(user).get("/upload")
    assert response.status_code == 200
    config = _config(response)
    assert config["uploads_url"] == "/api/v1/media/uploads"
    assert config["asset_url"] == "/api/v1/media/assets/"
    assert config["posts_url"] == "/api/v1/posts"
    assert config["ws_path"] == "/ws/media/assets/"
    assert config["suggest_hashtags_url"] == "/web/suggest/hashtags"
    assert config["username"] == "creator"
    html = response.content.decode()
    for label in ('for="caption"', 'for="visibility"', 'for="sound"', 'for="file-input"'):
        assert label in html


def test_use_this_sound_preselects_a_usable_sound_and_ignores_others(browser_for):
    sound = LibrarySoundFactory(title="Chosen One")
    other_country = LibrarySoundFactory(title="Elsewhere Only", territories=["JP"])
    user = UserFactory(country="GB")
    html = browser_for(user).get(f"/upload?sound={sound.pk}").content.decode()
    assert f'<option value="{sound.pk}" selected>' in html
    assert "Elsewhere Only" not in html  # not licensed where the user is
    html = browser_for(user).get(f"/upload?sound={other_country.pk}").content.decode()
    assert "selected>" not in html
    for junk in ("abc", "0", "9" * 40):
        assert browser_for(user).get(f"/upload?sound={junk}").status_code == 200


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/", "/settings/account", "/settings/privacy",
                                  "/settings/sessions", "/settings/blocked"])
def test_settings_need_a_signed_in_user(browser_for, path):
    response = browser_for(None).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_account_settings_save_the_profile_country_and_language(browser_for):
    user = UserFactory()
    client = browser_for(user)
    assert client.get("/settings/account").status_code == 200
    response = client.post("/settings/account", {
        "display_name": "  New Name ", "bio": "Hello", "country": "GB", "language": "pt-BR"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.country, user.language) == (
        "New Name", "Hello", "GB", "pt-BR")


@pytest.mark.parametrize(("field", "value"), [
    ("country", "G1"), ("country", "GBR"), ("language", "english!"), ("language", "x" * 17),
    ("display_name", "x" * 51), ("bio", "y" * 161),
])
def test_bad_account_settings_are_refused_and_nothing_changes(browser_for, field, value):
    user = UserFactory(country="FR", language="fr")
    client = browser_for(user)
    before = User.objects.values().get(pk=user.pk)
    data = {"display_name": "Ok", "bio": "", "country": "FR", "language": "fr", field: value}
    response = client.post("/settings/account", data)
    assert response.status_code == 400
    assert 'class="field-errors"' in response.content.decode()
    assert User.objects.values().get(pk=user.pk) == before


def test_a_non_image_avatar_is_refused_on_the_form(browser_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory()
    response = browser_for(user).post("/settings/avatar", {
        "file": SimpleUploadedFile("a.png", b"not an image", content_type="image/png")})
    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.avatar


def test_privacy_settings_make_the_account_private_and_show_likes(browser_for):
    user = UserFactory()
    client = browser_for(user)
    response = client.post("/settings/privacy", {"is_private": "on", "show_liked_posts": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_private
    assert shows_liked_posts(user)
    client.post("/settings/privacy", {})
    user.refresh_from_db()
    assert not user.is_private
    assert not shows_liked_posts(user)


def test_the_sessions_page_lists_sessions_with_revoke_buttons_for_the_others(browser_for):
    user = UserFactory()
    phone = Client(HTTP_USER_AGENT="PhoneBrowser/1.0")
    assert phone.post("/accounts/login/", {"login": user.username,
                                          "password": "correct-horse-battery"}).status_code == 302
    laptop = Client(HTTP_USER_AGENT="LaptopBrowser/2.0")
    laptop.post("/accounts/login/", {"login": user.username, "password": "correct-horse-battery"})
    sessions = list(UserSession.objects.filter(user=user))
    assert len(sessions) == 2
    html = laptop.get("/settings/sessions").content.decode()
    assert 'title="PhoneBrowser/1.0"' in html
    assert 'title="LaptopBrowser/2.0"' in html
    phone_session = next(s for s in sessions if "Phone" in s.user_agent)
    laptop_session = next(s for s in sessions if "Laptop" in s.user_agent)
    assert f'data-url="/api/v1/me/sessions/{phone_session.pk}"' in html
    assert f'data-url="/api/v1/me/sessions/{laptop_session.pk}"' not in html  # this browser
    assert "This browser" in html


def test_the_blocked_page_lists_blocks_with_unblock_buttons(browser_for):
    user = UserFactory()
    blocked = UserFactory(username="pest")
    BlockFactory(blocker=user, blocked=blocked)
    BlockFactory(blocker=UserFactory(), blocked=user)  # someone blocking me is not listed
    html = browser_for(user).get("/settings/blocked").content.decode()
    assert 'data-url="/api/v1/users/pest/block"' in html
    assert html.count('class="person"') == 1


# --- suggestions -------------------------------------------------------------------------------


def test_suggestions_need_a_signed_in_user(browser_for):
    response = browser_for(None).get("/web/suggest/users?q=a")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"error"}


def test_hashtag_suggestions_by_prefix_most_used_first(browser_for):
    from apps.content.models import Hashtag

    Hashtag.objects.create(name="Dance", posts_count=5)
    Hashtag.objects.create(name="dancefloor", posts_count=50)
    Hashtag.objects.create(name="food", posts_count=99)
    client = browser_for(UserFactory())
    results = client.get("/web/suggest/hashtags?q=%23dan").json()["results"]
    assert [r["name"] for r in results] == ["dancefloor", "Dance"]
    assert client.get("/web/suggest/hashtags?q=").json() == {"results": []}
    assert client.get("/web/suggest/hashtags?q=%00").json() == {"results": []}
    assert client.get("/web/suggest/hashtags?q=" + "d" * 5000).status_code == 200


def test_user_suggestions_leave_out_blocked_and_undiscoverable_people(browser_for):
    from django.utils import timezone

    viewer = UserFactory()
    friend = UserFactory(username="sam_friend")
    FollowFactory(follower=viewer, followee=friend)
    popular = UserFactory(username="sam_popular", followers_count=1000)
    blocked = UserFactory(username="sam_blocked")
    BlockFactory(blocker=blocked, blocked=viewer)
    UserFactory(username="sam_gone", deactivated_at=timezone.now())
    results = browser_for(viewer).get("/web/suggest/users?q=@Sam").json()["results"]
    assert [r["username"] for r in results] == ["sam_friend", "sam_popular"]
    assert popular.pk


def test_suggestions_are_throttled_per_user(browser_for, monkeypatch):
    monkeypatch.setattr(SuggestThrottle, "rate", "3/min")
    monkeypatch.setattr(SuggestThrottle, "num_requests", 3, raising=False)
    client = browser_for(UserFactory())
    codes = [client.get("/web/suggest/hashtags?q=a").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    other = browser_for(UserFactory())
    assert other.get("/web/suggest/hashtags?q=a").status_code == 200
