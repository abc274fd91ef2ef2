"""The Top tab's accounts: an account leads Top when the query names it, written together
or by the leading words of its display name or handle (as TikTok shows "Sofia Dances" for
"sofia"), and not when the query only shares a later word or a look-alike."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search

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
