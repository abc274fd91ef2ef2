"""`/discover` (the Discover tab): hashtags and sounds in use, most used first, only those
with a post the viewer may see; and the phone's tab bar on every page, with the current tab
marked (issue 12, item 6)."""

from __future__ import annotations

import re

import pytest

from apps.content import services as content_services
from apps.content.models import Hashtag, Post, Sound
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _post(author, caption: str, **kwargs) -> Post:  # type: ignore[no-untyped-def]
    return content_services.post_create(
        author=author, asset_id=MediaAssetFactory(owner=author).pk, caption=caption, **kwargs)


def _tabs(html: str) -> list[tuple[bool, str]]:
    """(current, label) of each tab of the tab bar."""
    bar = html[html.index('<nav class="tabbar"'):]
    bar = bar[:bar.index("</nav>")]
    return [("aria-current" in attrs, label) for attrs, label in
            re.findall(r"<a([^>]*)>.*?<span>([^<]+)</span></a>", bar, re.S)]


def test_discover_lists_hashtags_and_sounds_in_use_most_used_first(browser_for):
    author = UserFactory()
    for _ in range(3):
        _post(author, "#popular dance")
    _post(author, "#rare once")
    _post(UserFactory(), "#secret hidden", visibility=Post.Visibility.PRIVATE)
    hit = LibrarySoundFactory(title="Summer Hit")
    _post(author, "with a sound", sound_id=hit.pk)
    _post(author, "again", sound_id=hit.pk)
    taken_down = LibrarySoundFactory(title="Gone Tune")
    _post(author, "old", sound_id=taken_down.pk)
    Sound.objects.filter(pk=taken_down.pk).update(is_taken_down=True)

    html = browser_for(None).get("/discover").content.decode()
    assert html.index('href="/tag/popular"') < html.index('href="/tag/rare"')
    assert "#popular" in html
    assert "3 videos" in html
    # a tag only on posts this viewer cannot see is not shown to them
    assert Hashtag.objects.filter(name="secret").exists()
    assert "/tag/secret" not in html
    assert f'href="/sound/{hit.pk}"' in html
    assert "Gone Tune" not in html


def test_discover_says_so_when_nothing_is_in_use(browser_for):
    html = browser_for(None).get("/discover").content.decode()
    assert "No hashtags in use yet." in html
    assert "No sounds in use yet." in html


def test_the_tab_bar_marks_the_current_page(browser_for):
    me = UserFactory(username="tabby")
    other = UserFactory(username="someone")
    client = browser_for(me)
    cases = {
        "/": "Home", "/following": "Home", "/discover": "Discover", "/upload": "Upload",
        "/notices": "Inbox", "/@tabby": "Profile", "/@tabby/liked": "Profile",
        "/settings/account": "Profile", "/@someone": None,
    }
    for path, current in cases.items():
        response = client.get(path)
        assert response.status_code == 200, path
        tabs = _tabs(response.content.decode())
        assert [label for _, label in tabs] == ["Home", "Discover", "Upload", "Inbox", "Profile"]
        assert [label for on, label in tabs if on] == ([current] if current else []), path
    assert other.username == "someone"


def test_signed_out_the_tab_bar_is_home_discover_and_log_in(browser_for):
    client = browser_for(None)
    for path, current in {"/": "Home", "/discover": "Discover",
                          "/accounts/login/": "Log in"}.items():
        tabs = _tabs(client.get(path).content.decode())
        assert [label for _, label in tabs] == ["Home", "Discover", "Log in"]
        assert [label for on, label in tabs if on] == [current], path
    # a missing page has the bar too, with no tab current
    response = client.get("/no/such/page")
    assert response.status_code == 404
    tabs = _tabs(response.content.decode())
    assert [label for _, label in tabs] == ["Home", "Discover", "Log in"]
    assert [label for on, label in tabs if on] == []
