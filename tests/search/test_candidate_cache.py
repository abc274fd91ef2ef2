"""The candidate cache (`services.retrieval`): the engine's ids and scores for a query are
kept per process while the index is unchanged, and every request still applies the one
safety rule per kind (`apps.search.selectors`) and the viewer's ranking at read time. So a
hit answers exactly the page a miss would, for every viewer, and nothing removed or blocked
after the answer was kept comes back from it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.moderation.services import enforce
from apps.search.engine import get_backend
from apps.search.services import retrieval
from apps.social.models import Block, Follow
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search, tag_post

pytestmark = [pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]

TABS = ("top", "accounts", "videos", "sounds", "hashtags")
# Engine calls per search, each one kept answer: Top asks for videos and accounts with the
# query's words, for a hashtag and a sound with its name (`query.top.name_query`).
ENGINE_CALLS = {"top": 2}


def _client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _page(client: APIClient, q: str, **params: Any) -> dict[str, Any]:
    """The answer without its per-search parts (a new search id, the cursor signing it)."""
    body = search(client, q, **params)
    body.pop("search_id", None)
    body["next_cursor"] = body.get("next_cursor") is not None
    return body


def _hits() -> int:
    return retrieval.candidate_cache_stats()["hits"]


@pytest.mark.django_db
def test_a_hit_answers_the_page_a_miss_answers_for_every_viewer() -> None:
    # given: a catalogue where viewers differ: one follows a creator (ranked first for
    # them), one is blocked by another creator (whose account and videos they may not
    # find), one is signed out; a private account's video only its follower may see
    star, rival, private = (UserFactory(username="sunsetqueen", display_name="Sunset Queen"),
                            UserFactory(username="sunsetking", display_name="Sunset King"),
                            UserFactory(username="sunsetsecret", is_private=True))
    fan, blocked = UserFactory(), UserFactory()
    Follow.objects.create(follower=fan, followee=star)
    Follow.objects.create(follower=fan, followee=private)
    Block.objects.create(blocker=rival, blocked=blocked)
    posts = [PostFactory(author=author, caption=f"golden sunset beach {i}")
             for i, author in enumerate((star, rival, star, rival, private))]
    tag = tag_post(posts[0], "sunset")
    sound = LibrarySoundFactory(title="Sunset Drive", artist="Waves")
    index(star, rival, private, *posts, tag, sound)
    viewers = {"signed out": None, "fan": fan, "blocked": blocked}
    cases = [(tab, q, mode) for tab in TABS for q, mode in
             (("sunset", "full"), ("sunset beach", "full"), ("suns", "prefix"))]

    for tab, q, mode in cases:
        # when: each viewer's page is computed with nothing kept (a miss) ...
        misses = {}
        for name, user in viewers.items():
            retrieval.clear_candidate_cache()
            misses[name] = _page(_client(user), q, tab=tab, mode=mode, limit=3)
        # ... and again after another viewer's search kept the engine's answer (hits)
        retrieval.clear_candidate_cache()
        _page(_client(blocked), q, tab=tab, mode=mode, limit=3)
        for name, user in viewers.items():
            before = _hits()
            hit = _page(_client(user), q, tab=tab, mode=mode, limit=3)

            # then: the answer came from the cache and is the page the miss answered
            assert _hits() == before + ENGINE_CALLS.get(tab, 1), (tab, q, mode, name)
            assert hit == misses[name], (tab, q, mode, name)

    # and: the viewers' pages do differ (the cache did not make them one page)
    top = {name: ids(_page(_client(user), "sunset beach", tab="videos"))
           for name, user in viewers.items()}
    # followed creators first (the private account's video too, for its follower)
    assert set(top["fan"][:3]) == {str(posts[0].pk), str(posts[2].pk), str(posts[4].pk)}
    assert not {str(posts[1].pk), str(posts[3].pk), str(posts[4].pk)} & set(top["blocked"])
    assert str(posts[4].pk) not in top["signed out"]


@pytest.mark.django_db(transaction=True)
def test_what_is_taken_down_or_blocked_after_the_answer_was_kept_is_not_served() -> None:
    # given: two creators' videos found by a viewer's Top search, the answer kept
    author, other, viewer = (UserFactory(username="giveawayhost"), UserFactory(),
                             UserFactory())
    scam = PostFactory(author=author, caption="giveaway click here now")
    fine = PostFactory(author=other, caption="giveaway winners announced")
    index(author, scam, fine)
    client = _client(viewer)
    assert set(ids(search(client, "giveaway"), "video")) == {str(scam.pk), str(fine.pk)}

    # when: one post is taken down (nothing drained: the index still holds it) ...
    enforce(action="remove", target_type="post", target_id=scam.pk, policy="spam_scam",
            reason="Scam.")
    assert scam.pk in {hit.id for hit in get_backend().search("video", "giveaway", limit=5)}
    before = _hits()
    after_removal = search(client, "giveaway")

    # then: the kept answers served the search and the post is not in it
    assert _hits() == before + ENGINE_CALLS["top"]
    assert ids(after_removal, "video") == [str(fine.pk)]
    assert Post.objects.get(pk=scam.pk).status == Post.Status.REMOVED

    # when: the viewer blocks the other creator
    Block.objects.create(blocker=viewer, blocked=other)
    before = _hits()
    after_block = search(client, "giveaway")

    # then: again from the cache, and nothing of the blocked creator
    assert _hits() == before + ENGINE_CALLS["top"]
    assert ids(after_block, "video") == []
    # and: the blocked account is not offered on the Accounts tab from the kept answer
    Block.objects.create(blocker=author, blocked=viewer)
    assert ids(search(client, "giveawayhost", tab="accounts")) == []


@pytest.mark.django_db
def test_a_post_indexed_after_the_answer_was_kept_is_found_at_once() -> None:
    # given: a search whose engine answer is kept
    first = PostFactory(caption="origami crane tutorial")
    index(first)
    client = _client()
    assert ids(search(client, "origami crane", tab="videos")) == [str(first.pk)]

    # when: another matching post is indexed (the index's generation moves on)
    second = PostFactory(caption="origami crane for beginners")
    index(second)

    # then: the next search asks the engine again and finds it
    assert set(ids(search(client, "origami crane", tab="videos"))) == {
        str(first.pk), str(second.pk)}
