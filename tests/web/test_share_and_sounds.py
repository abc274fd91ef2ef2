"""The share page `/p/<id>/` follows content's visibility rule (the permalink's) for every viewer
(a viewer the author blocked gets a 404), and "may this sound go on a new post" is one
rule (`content.selectors.sound_use_refusal`): the create service, the sound API's
`usable`, the sound page and the upload page all answer it alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content import services as content_services
from apps.content.models import Post, Sound
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory, PostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db

Browser = Callable[[User | None], Client]


# --- item 13: the share page -----------------------------------------------------------------


@pytest.mark.parametrize("direction", ["author_blocked_viewer", "viewer_blocked_author"])
def test_the_share_page_is_404_across_a_block(browser_for: Browser, direction: str) -> None:
    post = PostFactory(caption="a caption the blocked viewer must not read")
    viewer = UserFactory()
    if direction == "author_blocked_viewer":
        BlockFactory(blocker=post.author, blocked=viewer)
    else:
        BlockFactory(blocker=viewer, blocked=post.author)

    response = browser_for(viewer).get(f"/p/{post.pk}/")

    assert response.status_code == 404
    assert b"a caption the blocked viewer must not read" not in response.content
    # signed out, the same link still previews (the page is the post's public face)
    assert browser_for(None).get(f"/p/{post.pk}/").status_code == 200


def test_the_share_page_is_never_shared_through_caches(browser_for: Browser) -> None:
    # it is the post's page: signed media URLs, the CSP nonce and the CSRF token
    post = PostFactory()

    signed_in = browser_for(UserFactory()).get(f"/p/{post.pk}/")
    signed_out = browser_for(None).get(f"/p/{post.pk}/")

    assert (signed_in.status_code, signed_in["Cache-Control"]) == (200, "private, no-cache")
    assert (signed_out.status_code, signed_out["Cache-Control"]) == (200, "private, no-cache")


def test_the_share_page_of_an_age_restricted_post_follows_the_age_gate_and_never_previews(
        browser_for: Browser) -> None:
    post = PostFactory(age_restricted=True)
    today = timezone.localdate()
    minor = UserFactory(date_of_birth=date(today.year - 15, 1, 1))

    adult = browser_for(UserFactory()).get(f"/p/{post.pk}/")
    assert adult.status_code == 200  # the permalink's rule: an adult may watch it
    assert b"og:title" not in adult.content  # a crawler (signed out) may not
    assert browser_for(minor).get(f"/p/{post.pk}/").status_code == 404
    assert browser_for(None).get(f"/p/{post.pk}/").status_code == 404


# --- item 12: "is this sound usable" ----------------------------------------------------------


def _post_with_original_sound(owner: User, *, allow_reuse: bool) -> Sound:
    post = content_services.post_create(author=owner, asset_id=MediaAssetFactory(owner=owner).pk,
                                        caption="my own sound")
    assert post.original_sound_id is not None
    sound = Sound.objects.get(pk=post.original_sound_id)
    Sound.objects.filter(pk=sound.pk).update(allow_reuse=allow_reuse)
    return sound


def _api_usable(user: User | None, sound: Sound) -> bool:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    response = client.get(f"/api/v1/sounds/{sound.pk}")
    assert response.status_code == 200, response.content
    usable: bool = response.json()["usable"]
    return usable


def _create_accepts(user: User, sound: Sound) -> bool:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/posts", {
        "asset_id": str(MediaAssetFactory(owner=user).pk), "caption": "with a sound",
        "sound_id": str(sound.pk)}, format="json")
    assert response.status_code in (201, 400, 403, 409), response.content
    return response.status_code == 201


def _pages_usable(browser_for: Browser, user: User, sound: Sound) -> tuple[bool, bool]:
    browser = browser_for(user)
    sound_page = browser.get(f"/sound/{sound.pk}")
    upload_page = browser.get(f"/upload?sound={sound.pk}")
    assert (sound_page.status_code, upload_page.status_code) == (200, 200)
    chosen: Any = upload_page.context["chosen_sound"]
    return bool(sound_page.context["usable"]), chosen is not None and chosen.pk == sound.pk


def test_a_sound_whose_owner_forbids_reuse_is_unusable_for_others_everywhere(
        browser_for: Browser) -> None:
    owner, other = UserFactory(), UserFactory()
    sound = _post_with_original_sound(owner, allow_reuse=False)

    # the API said "usable" while creating the post was refused
    assert _api_usable(other, sound) is False
    assert _pages_usable(browser_for, other, sound) == (False, False)
    assert _create_accepts(other, sound) is False


def test_the_owner_may_always_use_their_own_sound_everywhere(browser_for: Browser) -> None:
    owner = UserFactory()
    sound = _post_with_original_sound(owner, allow_reuse=False)

    # the sound and upload pages said "unusable" while creating the post was accepted
    assert _api_usable(owner, sound) is True
    assert _pages_usable(browser_for, owner, sound) == (True, True)
    assert _create_accepts(owner, sound) is True


def test_library_sounds_are_usable_exactly_where_the_create_service_accepts_them(
        browser_for: Browser) -> None:
    user = UserFactory(country="FR")
    past = timezone.now() - timedelta(days=1)
    sounds = {
        "worldwide": LibrarySoundFactory(),
        "licensed_here": LibrarySoundFactory(territories=["FR", "BE"]),
        "licensed_elsewhere": LibrarySoundFactory(territories=["US"]),
        "ads_only": LibrarySoundFactory(allowed_uses=["ads"]),
        "posts_and_live": LibrarySoundFactory(allowed_uses=["posts", "live"]),
        "lapsed": LibrarySoundFactory(licence_expires_at=past),
        "taken_down": LibrarySoundFactory(is_taken_down=True),
    }
    upload_list = {s.pk for s in browser_for(user).get("/upload").context["sounds"]}

    answers = {name: (_api_usable(user, s), _pages_usable(browser_for, user, s),
                      s.pk in upload_list, _create_accepts(user, s))
               for name, s in sounds.items()}

    usable = {"worldwide", "licensed_here", "posts_and_live"}
    assert answers == {name: ((True, (True, True), True, True) if name in usable else
                              (False, (False, False), False, False))
                       for name in sounds}
    assert Post.objects.filter(sound__in=[sounds[n] for n in usable]).count() == 3
