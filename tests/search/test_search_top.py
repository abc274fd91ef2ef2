"""The Top tab's accounts: an account leads Top when the query names it, written together
or by the leading words of its display name or handle (as TikTok shows "Sofia Dances" for
"sofia"), and not when the query only shares a later word or a look-alike. A hashtag and a
sound lead it when the query is their name written together."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search, tag_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def test_a_leading_word_of_the_name_or_handle_finds_the_account_on_top(
        api_client: APIClient) -> None:
    sofia = UserFactory(username="sofia_dances", display_name="Sofia Dances")
    mateo = UserFactory(username="mateo_cooks", display_name="Mateo Rivera")
    index(sofia, mateo, PostFactory(caption="sofia dances salsa in the street"))

    for query, mode in (("sofia", "full"), ("Sofía", "full"), ("sofai", "full"),
                        ("sofia dan", "prefix"), ("sofi", "prefix")):
        assert ids(search(api_client, query, mode=mode), "account") == [str(sofia.pk)], (
            query, mode)
    # The handle's leading word ("mateo" of mateo_cooks), the display name's ("mateo").
    assert ids(search(api_client, "mateo"), "account") == [str(mateo.pk)]
    assert ids(search(api_client, "mateo rivera"), "account") == [str(mateo.pk)]


def test_a_later_word_or_a_longer_query_does_not_put_the_account_on_top(
        api_client: APIClient) -> None:
    sofia = UserFactory(username="sofia_dances", display_name="Sofia Dances")
    index(sofia, PostFactory(caption="dances from sofia bulgaria"))

    # Only a later word of the name, or words beyond the name: videos, no account on Top.
    for query in ("dances", "sofia dances salsa", "sofiadancesalot"):
        body = search(api_client, query)
        assert ids(body, "account") == [], query
    # The Accounts tab still finds it by any word.
    assert ids(search(api_client, "dances", tab="accounts")) == [str(sofia.pk)]


def test_a_hashtag_and_a_sound_lead_top_when_the_query_is_their_name_written_together(
        api_client: APIClient) -> None:
    # given: a hashtag and a sound; Top asks the engine for them by the query's words
    # written together (`query.top.name_query`)
    posts = [PostFactory(caption=f"bake with mia lemon tart {i}") for i in range(2)]
    tag = tag_post(posts[0], "bakewithmia")
    sound = LibrarySoundFactory(title="Lemon Tart Waltz", artist="Mia Strings")
    index(tag, sound, *posts)

    # then: the query naming each, in words or together, with a typo, or while typing,
    # puts it before the videos
    for query, mode in (("bake with mia", "full"), ("bakewithmia", "full"),
                        ("bake wiht mia", "full"), ("bake with m", "prefix")):
        assert ids(search(api_client, query, mode=mode), "hashtag") == [tag.name], (
            query, mode)
    for query, mode in (("lemon tart waltz", "full"), ("lemon trat waltz", "full"),
                        ("lemon tart wa", "prefix")):
        assert ids(search(api_client, query, mode=mode), "sound") == [str(sound.pk)], (
            query, mode)
    # and: words of the name in another order, or only some of them, do not (videos only)
    for query in ("tart lemon", "lemon tart"):
        body = search(api_client, query)
        assert ids(body, "sound") == [], query
        assert ids(body, "hashtag") == [], query
        assert set(ids(body, "video")) == {str(p.pk) for p in posts}, query
