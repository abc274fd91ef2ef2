"""The search page's server render (/search, issue 13): the page without script. A GET form,
the first page of full results as real links (the API's items, rendered), tab links, a
"More results" link with the cursor, the safety notice, the empty state in words, bad input
and throttling answered in words (never a 500), the signed-in viewer's history recorded as
the API records it. The page in the browser: tests/browser/test_search.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.test import Client, override_settings

from apps.accounts.models import User
from apps.moderation.detection.models import TermList
from apps.search.models import SearchHistory
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, index, tag_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]

Browser = Callable[[User | None], Client]


def _links(html: str) -> list[tuple[str, str, str]]:
    """(type, href, position) of every result link on the page, in order."""
    return [(m["type"], m["href"], m["position"]) for m in re.finditer(
        r'<a class="result [^"]*" href="(?P<href>[^"]+)" data-result-type="(?P<type>\w+)" '
        r'data-result-id="[^"]*" data-position="(?P<position>\d+)"', html)]


@pytest.fixture
def catalogue() -> dict[str, object]:
    creator = UserFactory(username="skatequeen", display_name="ملكة التزلج",
                          is_verified=True)
    posts = [PostFactory(author=creator, caption=f"kickflip number {n} at the skatepark")
             for n in range(3)]
    tag = tag_post(posts[0], "kickflip")
    sound = LibrarySoundFactory(title="Kickflip Anthem", artist="The Rollers")
    index(creator, *posts, tag, sound)
    return {"creator": creator, "posts": posts, "tag": tag, "sound": sound}


def test_the_empty_page_is_a_get_form_with_a_combobox(browser_for: Browser) -> None:
    response = browser_for(None).get("/search")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form class="search-form" role="search" action="/search" method="get">' in html
    assert 'role="combobox"' in html
    assert 'aria-controls="search-listbox"' in html
    # no query: the tabs wait for one, and the header's own search box is not repeated
    assert re.search(r'role="tablist"[^>]*hidden', html)
    assert 'class="header-search"' not in html
    assert _links(html) == []


def test_full_results_are_real_links_per_tab_and_recorded_in_history(
        browser_for: Browser, catalogue: dict[str, object]) -> None:
    viewer = UserFactory()
    client = browser_for(viewer)
    html = client.get("/search", {"q": "kickflip", "tab": "videos"}).content.decode()
    creator: User = catalogue["creator"]  # type: ignore[assignment]
    posts = catalogue["posts"]
    assert sorted(href for _, href, _ in _links(html)) == sorted(
        f"/@skatequeen/video/{p.pk}" for p in posts)  # type: ignore[attr-defined]
    assert [position for _, _, position in _links(html)] == ["0", "1", "2"]
    # the videos tab is selected; every tab links to its own results
    assert re.search(r'id="search-tab-videos"[^>]*aria-selected="true"', html)
    assert 'href="/search?q=kickflip&amp;tab=sounds"' in html
    assert SearchHistory.objects.filter(user=viewer, query="kickflip").exists()

    html = client.get("/search", {"q": "kickflip", "tab": "sounds"}).content.decode()
    sound = catalogue["sound"]
    assert _links(html) == [("sound", f"/sound/{sound.pk}", "0")]  # type: ignore[attr-defined]
    html = client.get("/search", {"q": "kickflip", "tab": "hashtags"}).content.decode()
    assert _links(html) == [("hashtag", "/tag/kickflip", "0")]
    html = client.get("/search", {"q": "skatequeen", "tab": "accounts"}).content.decode()
    assert _links(html) == [("account", "/@skatequeen", "0")]
    # a right-to-left display name is marked so the browser lays it out right to left
    assert f'<span dir="auto">{creator.display_name}</span>' in html


def test_more_results_is_a_link_with_the_cursor(
        browser_for: Browser, catalogue: dict[str, object]) -> None:
    client = browser_for(None)
    page = client.get("/search", {"q": "kickflip", "tab": "videos", "limit": "2"})
    # the page asks for the API's default page size whatever ?limit says; with three videos
    # there is no second page
    assert len(_links(page.content.decode())) == 3
    assert "data-more" not in page.content.decode()
    for n in range(3, 25):
        index(PostFactory(author=catalogue["creator"], caption=f"kickflip again {n}"))
    html = client.get("/search", {"q": "kickflip", "tab": "videos"}).content.decode()
    assert len(_links(html)) == 20
    more = re.search(r'href="(/search\?q=kickflip&amp;tab=videos&amp;cursor=[^"]+)" data-more',
                     html)
    assert more, html
    second = client.get(more[1].replace("&amp;", "&")).content.decode()
    assert 1 <= len(_links(second)) <= 5
    assert not {h for _, h, _ in _links(second)} & {h for _, h, _ in _links(html)}


def test_a_blocked_term_shows_the_safety_notice_and_no_results(
        browser_for: Browser, catalogue: dict[str, object]) -> None:
    TermList.objects.create(name="test", purpose=TermList.Purpose.SEARCH_BLOCKED,
                            language="", policy="self_harm", terms="kickflip")
    viewer = UserFactory()
    response = browser_for(viewer).get("/search", {"q": "kickflip"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="search-notice" role="note"' in html
    assert _links(html) == []
    assert not SearchHistory.objects.filter(user=viewer).exists()


def test_no_results_and_bad_input_are_said_in_words(browser_for: Browser) -> None:
    client = browser_for(None)
    html = client.get("/search", {"q": "zzqqxx"}).content.decode()
    assert "No results for “<bdi>zzqqxx</bdi>”" in html
    # an unknown tab (a hand-edited link) is Top, not an error page
    response = client.get("/search", {"q": "zzqqxx", "tab": "nonsense"})
    assert response.status_code == 200
    assert re.search(r'id="search-tab-top"[^>]*aria-selected="true"', response.content.decode())
    # too long, a NUL, a bad cursor: a 400 page that says why
    for params in ({"q": "x" * 201}, {"q": "ab\x00cd"}, {"q": "kickflip", "cursor": "junk"}):
        response = client.get("/search", params)
        assert response.status_code == 400, params
        assert 'class="search-error" role="alert"' in response.content.decode()
    assert "at most 200 characters" in client.get("/search", {"q": "x" * 201}).content.decode()


@override_settings(SEARCH_THROTTLE_USER_RATE="2/min")
def test_the_page_shares_the_apis_throttle(browser_for: Browser) -> None:
    client = browser_for(UserFactory())
    assert client.get("/search", {"q": "one"}).status_code == 200
    assert client.get("/api/v1/search", {"q": "two"}).status_code == 200
    response = client.get("/search", {"q": "three"})
    assert response.status_code == 429
    assert "You're searching very fast" in unescape(response.content.decode())
