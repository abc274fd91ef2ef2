"""Comments through the API: threads, creator controls, visibility, and attackers."""

from __future__ import annotations

from typing import Any

import pytest

from apps.comments.models import Comment, CommentMention
from apps.content.models import Post
from tests.comments.helpers import assert_counters_match_rows, comments_snapshot, error_of
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory

pytestmark = pytest.mark.django_db


def _comments_url(post_id: object) -> str:
    return f"/api/v1/posts/{post_id}/comments"


def _write(client: Any, post: Post, text: str, parent: object = None) -> Any:
    body: dict[str, Any] = {"text": text}
    if parent is not None:
        body["parent_id"] = str(parent)
    return client.post(_comments_url(post.pk), body, format="json")


def _texts(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["text"] for row in response.json()["results"]]


def test_a_comment_and_replies_two_levels_deep_with_an_at_mention(client_for):
    # given
    post = PublishedPostFactory()
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory()

    # when: alice comments, bob replies, carol replies to bob's reply
    top = _write(client_for(alice), post, "first!")
    reply = _write(client_for(bob), post, "hi alice", parent=top.json()["id"])
    deeper = _write(client_for(carol), post, "agreed", parent=reply.json()["id"])

    # then: carol's reply hangs off the top-level comment and mentions bob
    assert top.status_code == reply.status_code == deeper.status_code == 201
    body = deeper.json()
    assert body["parent_id"] == top.json()["id"]
    assert body["reply_to"]["username"] == "bob"
    assert body["text"] == "@bob agreed"
    assert CommentMention.objects.filter(comment_id=body["id"], user=bob).exists()
    post.refresh_from_db()
    assert post.comments_count == 3
    assert _texts(client_for(carol).get(_comments_url(post.pk))) == ["first!"]
    replies = client_for(carol).get(f"/api/v1/comments/{top.json()['id']}/replies")
    assert _texts(replies) == ["hi alice", "@bob agreed"]
    assert client_for(carol).get(_comments_url(post.pk)).json()["results"][0][
        "replies_count"] == 2
    assert_counters_match_rows()


def test_mentions_are_recorded_for_real_visible_users_only(client_for):
    post = PublishedPostFactory()
    author, dave, blocker = UserFactory(), UserFactory(username="dave"), UserFactory(
        username="erin")
    BlockFactory(blocker=blocker, blocked=author)

    response = _write(client_for(author), post, "@dave @erin @nobody_here look")

    assert response.status_code == 201
    mentioned = set(CommentMention.objects.values_list("user_id", flat=True))
    assert mentioned == {dave.pk}


def test_top_sort_ranks_likes_and_the_creators_like_and_pins_first(client_for):
    # given: three comments; the oldest has many likes, the middle one the creator's like
    post = PublishedPostFactory()
    creator = post.author
    people = [UserFactory() for _ in range(12)]
    old = _write(client_for(people[0]), post, "old but loved").json()["id"]
    middle = _write(client_for(people[1]), post, "creator's favourite").json()["id"]
    new = _write(client_for(people[2]), post, "newest").json()["id"]
    for person in people[:10]:
        assert client_for(person).post(f"/api/v1/comments/{old}/like").status_code == 204
    client_for(creator).post(f"/api/v1/comments/{middle}/like")

    # then
    viewer = client_for(UserFactory())
    assert _texts(viewer.get(_comments_url(post.pk), {"sort": "top"})) == [
        "creator's favourite", "old but loved", "newest"]
    assert _texts(viewer.get(_comments_url(post.pk), {"sort": "new"})) == [
        "newest", "creator's favourite", "old but loved"]

    # when: the creator pins the newest
    assert client_for(creator).post(f"/api/v1/comments/{new}/pin").status_code == 204
    rows = viewer.get(_comments_url(post.pk)).json()["results"]
    assert [r["text"] for r in rows] == ["newest", "creator's favourite", "old but loved"]
    assert rows[0]["is_pinned"]
    assert rows[1]["liked_by_creator"]
    # pinning another replaces it
    client_for(creator).post(f"/api/v1/comments/{old}/pin")
    assert Comment.objects.filter(is_pinned=True).get().pk == int(old)
    assert_counters_match_rows()


def test_cursor_pages_walk_every_comment_once_with_the_pinned_one_first(client_for):
    post = PublishedPostFactory()
    ids = [_write(client_for(UserFactory()), post, f"c{i}").json()["id"] for i in range(7)]
    client_for(post.author).post(f"/api/v1/comments/{ids[3]}/pin")
    for sort in ("top", "new"):
        seen: list[str] = []
        url: str | None = f"{_comments_url(post.pk)}?sort={sort}&page_size=1"
        while url:
            page = client_for(UserFactory()).get(url).json()
            seen += [row["id"] for row in page["results"]]
            url = page["next"]
        assert seen[0] == ids[3]
        assert sorted(seen) == sorted(ids), sort


@pytest.mark.parametrize(("policy", "code"), [("off", "comments_off"),
                                              ("friends", "comments_friends_only")])
def test_the_comment_policy_refuses_with_a_clear_code_and_changes_nothing(client_for, policy,
                                                                            code):
    post = PublishedPostFactory(comment_policy=policy)
    stranger = UserFactory()
    FollowFactory(follower=stranger, followee=post.author)  # following is not friends
    before = comments_snapshot()

    response = _write(client_for(stranger), post, "let me in")

    assert response.status_code == 403
    assert error_of(response)["code"] == code
    assert comments_snapshot() == before


def test_friends_and_the_creator_can_comment_when_comments_are_friends_only(client_for):
    post = PublishedPostFactory(comment_policy="friends")
    friend = UserFactory()
    FollowFactory(follower=friend, followee=post.author)
    FollowFactory(follower=post.author, followee=friend)

    assert _write(client_for(friend), post, "hey friend").status_code == 201
    assert _write(client_for(post.author), post, "hey back").status_code == 201


def test_the_creator_can_comment_when_comments_are_off(client_for):
    post = PublishedPostFactory(comment_policy="off")
    assert _write(client_for(post.author), post, "note to self").status_code == 201


def test_a_commenter_the_creator_removed_cannot_comment_on_their_posts(client_for):
    post = PublishedPostFactory()
    troll = UserFactory()
    creator = client_for(post.author)
    assert creator.post(f"/api/v1/me/commenter-bans/{troll.username}").status_code == 204
    listed = creator.get("/api/v1/me/commenter-bans").json()["results"]
    assert [row["user"]["username"] for row in listed] == [troll.username]
    before = comments_snapshot()

    response = _write(client_for(troll), post, "again")

    assert response.status_code == 403
    assert error_of(response)["code"] == "commenting_restricted"
    assert comments_snapshot() == before
    creator.delete(f"/api/v1/me/commenter-bans/{troll.username}")
    assert _write(client_for(troll), post, "sorry").status_code == 201


def test_keyword_filter_holds_comments_for_the_creator_to_review(client_for):
    # given
    post = PublishedPostFactory()
    creator = client_for(post.author)
    assert creator.post("/api/v1/me/comment-filters", {"keyword": "SPAM"},
                        format="json").status_code == 201
    author, other = UserFactory(), UserFactory()

    # when
    held = _write(client_for(author), post, "buy spam now")

    # then: held, uncounted, seen by its author and the creator only
    assert held.status_code == 201
    assert held.json()["status"] == "held"
    post.refresh_from_db()
    assert post.comments_count == 0
    assert _texts(client_for(author).get(_comments_url(post.pk))) == ["buy spam now"]
    assert _texts(creator.get(_comments_url(post.pk))) == ["buy spam now"]
    assert _texts(client_for(other).get(_comments_url(post.pk))) == []
    assert _texts(creator.get("/api/v1/me/held-comments")) == ["buy spam now"]
    assert client_for(other).post(f"/api/v1/comments/{held.json()['id']}/like").status_code == 404

    # when: another user tries to approve it, then the creator does
    denied = client_for(author).post(f"/api/v1/comments/{held.json()['id']}/approve")
    assert denied.status_code == 403
    assert creator.post(f"/api/v1/comments/{held.json()['id']}/approve").status_code == 204
    assert _texts(client_for(other).get(_comments_url(post.pk))) == ["buy spam now"]
    post.refresh_from_db()
    assert post.comments_count == 1

    # reject path
    second = _write(client_for(author), post, "more spam").json()["id"]
    assert creator.post(f"/api/v1/comments/{second}/reject").status_code == 204
    assert _texts(client_for(author).get(_comments_url(post.pk))) == ["buy spam now"]
    assert_counters_match_rows()


def test_hide_and_delete_rules(client_for):
    post = PublishedPostFactory()
    creator = client_for(post.author)
    author, other = UserFactory(), UserFactory()
    cid = _write(client_for(author), post, "hmm").json()["id"]
    reply = _write(client_for(other), post, "reply", parent=cid).json()["id"]

    # a stranger can neither hide nor delete
    before = comments_snapshot()
    assert client_for(other).post(f"/api/v1/comments/{cid}/hide").status_code == 403
    assert client_for(other).delete(f"/api/v1/comments/{cid}").status_code == 403
    assert client_for(other).post(f"/api/v1/comments/{cid}/pin").status_code == 403
    assert comments_snapshot() == before

    # the creator hides: others stop seeing it, its author still does
    assert creator.post(f"/api/v1/comments/{cid}/hide").status_code == 204
    assert _texts(client_for(other).get(_comments_url(post.pk))) == []
    assert _texts(client_for(author).get(_comments_url(post.pk))) == ["hmm"]
    assert client_for(other).get(f"/api/v1/comments/{cid}/replies").status_code == 404
    assert creator.delete(f"/api/v1/comments/{cid}/hide").status_code == 204
    assert _texts(client_for(other).get(_comments_url(post.pk))) == ["hmm"]

    # the reply's author deletes their reply; the comment's author deletes the thread
    assert client_for(other).delete(f"/api/v1/comments/{reply}").status_code == 204
    assert client_for(author).delete(f"/api/v1/comments/{cid}").status_code == 204
    assert _texts(creator.get(_comments_url(post.pk))) == []
    assert client_for(author).delete(f"/api/v1/comments/{cid}").status_code == 404
    post.refresh_from_db()
    assert post.comments_count == 0
    assert_counters_match_rows()


def test_the_creator_deleting_a_thread_deletes_its_replies(client_for):
    post = PublishedPostFactory()
    top = _write(client_for(UserFactory()), post, "top").json()["id"]
    for i in range(3):
        _write(client_for(UserFactory()), post, f"r{i}", parent=top)
    assert client_for(post.author).delete(f"/api/v1/comments/{top}").status_code == 204
    post.refresh_from_db()
    assert post.comments_count == 0
    assert_counters_match_rows()


def test_blocked_and_muted_commenters_are_hidden_from_the_viewer(client_for):
    post = PublishedPostFactory()
    viewer, blocked, blocker, muted, fine = (UserFactory() for _ in range(5))
    for person, text in ((blocked, "blocked"), (blocker, "blocker"), (muted, "muted"),
                         (fine, "fine")):
        _write(client_for(person), post, text)
    BlockFactory(blocker=viewer, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=viewer)
    MuteFactory(muter=viewer, muted=muted)

    assert _texts(client_for(viewer).get(_comments_url(post.pk))) == ["fine"]
    assert len(_texts(client_for(fine).get(_comments_url(post.pk)))) == 4
    hidden = Comment.objects.get(text="blocker").pk
    assert client_for(viewer).get(f"/api/v1/comments/{hidden}/replies").status_code == 404
    before = comments_snapshot()
    assert _write(client_for(viewer), post, "x", parent=hidden).status_code == 404
    assert client_for(viewer).post(f"/api/v1/comments/{hidden}/like").status_code == 404
    assert comments_snapshot() == before


@pytest.mark.parametrize("arrange", ["blocked_by_creator", "private_post", "draft", "removed",
                                     "private_account", "unknown", "garbage"])
def test_comments_on_posts_the_attacker_may_not_see_are_404(client_for, api_client, arrange):
    attacker = UserFactory()
    post = PublishedPostFactory()
    _write(client_for(post.author), post, "secret")
    post_id: object = post.pk
    if arrange == "blocked_by_creator":
        BlockFactory(blocker=post.author, blocked=attacker)
    elif arrange == "private_post":
        Post.objects.filter(pk=post.pk).update(visibility="private")
    elif arrange == "draft":
        Post.objects.filter(pk=post.pk).update(status="draft")
    elif arrange == "removed":
        Post.objects.filter(pk=post.pk).update(status="removed")
    elif arrange == "private_account":
        type(attacker).objects.filter(pk=post.author_id).update(is_private=True)
    elif arrange == "unknown":
        post_id = post.pk + 7
    else:
        post_id = "-1"
    comment = Comment.objects.get()
    before = comments_snapshot()

    client = client_for(attacker)
    assert client.get(_comments_url(post_id)).status_code == 404
    assert client.post(_comments_url(post_id), {"text": "hi"}, format="json").status_code == 404
    if arrange != "unknown" and arrange != "garbage":
        assert client.get(f"/api/v1/comments/{comment.pk}/replies").status_code == 404
        assert client.post(f"/api/v1/comments/{comment.pk}/like").status_code == 404
        assert client.delete(f"/api/v1/comments/{comment.pk}").status_code == 404
        assert client.post(_comments_url(post.pk), {"text": "hi", "parent_id": str(comment.pk)},
                           format="json").status_code == 404
    assert comments_snapshot() == before


def test_a_reply_cannot_point_at_a_comment_on_another_post(client_for):
    mine, theirs = PublishedPostFactory(), PublishedPostFactory()
    foreign = _write(client_for(UserFactory()), theirs, "elsewhere").json()["id"]
    before = comments_snapshot()
    response = _write(client_for(UserFactory()), mine, "sneaky", parent=foreign)
    assert response.status_code == 404
    assert comments_snapshot() == before


@pytest.mark.parametrize("body", [
    {"text": "x" * 501},
    {"text": ""},
    {"text": "   "},
    {"text": "nul\x00byte"},
    {},
    {"text": "ok", "parent_id": "1 OR 1=1"},
    {"text": "ok", "parent_id": "9" * 25},
])
def test_bad_comment_bodies_are_400_and_change_nothing(client_for, body):
    post = PublishedPostFactory()
    before = comments_snapshot()
    response = client_for(UserFactory()).post(_comments_url(post.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"
    assert comments_snapshot() == before


def test_malformed_json_huge_parent_and_anonymous_writes(client_for, api_client):
    post = PublishedPostFactory()
    before = comments_snapshot()
    bad = client_for(UserFactory()).post(_comments_url(post.pk), data='{"text": ',
                                         content_type="application/json")
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "parse_error"
    assert api_client.post(_comments_url(post.pk), {"text": "hi"},
                           format="json").status_code == 401
    missing = _write(client_for(UserFactory()), post, "ok", parent=2**63 - 1)
    assert missing.status_code == 404
    assert comments_snapshot() == before


def test_a_reply_to_a_reply_that_would_exceed_500_characters_is_refused(client_for):
    post = PublishedPostFactory()
    longname = UserFactory(username="a_rather_long_username")
    top = _write(client_for(UserFactory()), post, "top").json()["id"]
    reply = _write(client_for(longname), post, "r", parent=top).json()["id"]
    before = comments_snapshot()
    response = _write(client_for(UserFactory()), post, "y" * 495, parent=reply)
    assert response.status_code == 400
    assert comments_snapshot() == before


def test_bad_cursors_and_sorts_are_400(client_for):
    post = PublishedPostFactory()
    client = client_for(UserFactory())
    for params in ({"cursor": "not-base64!"}, {"cursor": "WzEsMiwzXQ"}, {"sort": "hot"},
                   {"cursor": "WyJ4IiwgMV0"}, {"page_size": "0"}, {"page_size": "abc"}):
        response = client.get(_comments_url(post.pk), params)
        assert response.status_code == 400, params


def test_comment_likes_are_idempotent_and_counted(client_for):
    post = PublishedPostFactory()
    cid = _write(client_for(UserFactory()), post, "like me").json()["id"]
    fan = client_for(UserFactory())
    for _ in range(3):
        assert fan.post(f"/api/v1/comments/{cid}/like").status_code == 204
    assert Comment.objects.get(pk=cid).likes_count == 1
    row = fan.get(_comments_url(post.pk)).json()["results"][0]
    assert row["liked_by_me"] is True
    assert row["likes_count"] == 1
    assert fan.delete(f"/api/v1/comments/{cid}/like").status_code == 204
    assert fan.delete(f"/api/v1/comments/{cid}/like").status_code == 204
    assert Comment.objects.get(pk=cid).likes_count == 0
    assert_counters_match_rows()


def test_replies_cannot_be_pinned(client_for):
    post = PublishedPostFactory()
    top = _write(client_for(UserFactory()), post, "t").json()["id"]
    reply = _write(client_for(UserFactory()), post, "r", parent=top).json()["id"]
    response = client_for(post.author).post(f"/api/v1/comments/{reply}/pin")
    assert response.status_code == 400
    assert error_of(response)["code"] == "cannot_pin_reply"


def test_anonymous_readers_see_public_comments_but_never_held_or_hidden_ones(client_for,
                                                                            anon_client):
    post = PublishedPostFactory()
    creator = client_for(post.author)
    creator.post("/api/v1/me/comment-filters", {"keyword": "secret"}, format="json")
    _write(client_for(UserFactory()), post, "public words")
    _write(client_for(UserFactory()), post, "a secret")
    hidden = _write(client_for(UserFactory()), post, "to hide").json()["id"]
    creator.post(f"/api/v1/comments/{hidden}/hide")

    assert _texts(anon_client.get(_comments_url(post.pk))) == ["public words"]
    assert anon_client.post(_comments_url(post.pk), {"text": "hi"},
                            format="json").status_code == 401


def test_nobody_but_the_creator_comments_on_an_unpublished_post(client_for):
    post = PublishedPostFactory(status=Post.Status.DRAFT)
    assert _write(client_for(post.author), post, "draft note").status_code == 201
    before = comments_snapshot()
    assert _write(client_for(UserFactory()), post, "sneak").status_code == 404
    assert comments_snapshot() == before
