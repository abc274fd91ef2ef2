"""The Idempotency-Key of comment create: a client's retry after a lost answer (a 503 during a
PostgreSQL restart after the commit) returns the comment it posted instead of a second one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.comments import services
from apps.comments.models import Comment
from apps.content.models import Post
from tests.comments.helpers import assert_counters_match_rows, error_of
from tests.engagement.factories import PublishedPostFactory
from tests.engagement.test_concurrency import _run_at_once
from tests.factories import UserFactory


def _post(client: Any, post: Post, text: str, key: str | None,
          parent: object = None) -> Any:
    body: dict[str, Any] = {"text": text}
    if parent is not None:
        body["parent_id"] = str(parent)
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(f"/api/v1/posts/{post.pk}/comments", body, format="json",
                       headers=headers)


@pytest.mark.django_db
def test_a_comment_sent_twice_with_one_key_is_posted_once(client_for):
    post = PublishedPostFactory()
    client = client_for(UserFactory())
    key = str(uuid.uuid4())

    # the first answer committed (and may have been lost); the client retries with its key
    first = _post(client, post, "first!", key)
    again = _post(client, post, "first!", key)

    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert Comment.objects.filter(post=post).count() == 1
    assert Comment.objects.get().idempotency_key == key
    post.refresh_from_db()
    assert post.comments_count == 1
    assert_counters_match_rows()


@pytest.mark.django_db
def test_a_reply_to_a_reply_retried_with_its_key_is_posted_once(client_for):
    # A reply to a reply is stored under the top comment with an @mention in front: the
    # retry still matches it.
    post = PublishedPostFactory()
    bob = UserFactory(username="bob")
    top = services.comment_create(author=UserFactory(), post=post, text="top")
    reply = services.comment_create(author=bob, post=post, text="a reply", parent=top)
    client = client_for(UserFactory())

    first = _post(client, post, "agreed", "k-1", parent=reply.pk)
    again = _post(client, post, "agreed", "k-1", parent=reply.pk)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["text"] == "@bob agreed"
    assert Comment.objects.filter(post=post).count() == 3


@pytest.mark.django_db
def test_without_a_key_each_request_posts(client_for):
    post = PublishedPostFactory()
    client = client_for(UserFactory())

    answers = [_post(client, post, "same", None) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert Comment.objects.filter(post=post).count() == 2


@pytest.mark.django_db
def test_two_users_with_the_same_key_each_post(client_for):
    post = PublishedPostFactory()

    answers = [_post(client_for(UserFactory()), post, "hello", "shared-key") for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert Comment.objects.filter(post=post).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "quote\"d", "comma,", "é"])
def test_a_malformed_key_is_a_400_and_posts_nothing(client_for, key):
    post = PublishedPostFactory()

    answer = _post(client_for(UserFactory()), post, "hi", key)

    assert answer.status_code == 400, answer.content
    error = error_of(answer)
    assert error["code"] == "invalid_idempotency_key"
    assert "Idempotency-Key" in error["message"]
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_key_of_64_characters_is_accepted(client_for):
    answer = _post(client_for(UserFactory()), PublishedPostFactory(), "hi", "a" * 64)

    assert answer.status_code == 201, answer.content


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["text", "post", "parent"])
def test_the_same_key_for_a_different_comment_is_a_422(client_for, change):
    post, other = PublishedPostFactory(), PublishedPostFactory()
    top = services.comment_create(author=UserFactory(), post=post, text="top")
    client = client_for(UserFactory())
    assert _post(client, post, "one", "k").status_code == 201

    answer = {
        "text": lambda: _post(client, post, "two", "k"),
        "post": lambda: _post(client, other, "one", "k"),
        "parent": lambda: _post(client, post, "one", "k", parent=top.pk),
    }[change]()

    assert answer.status_code == 422, answer.content
    error = error_of(answer)
    assert error["code"] == "idempotency_key_reused"
    assert "new key" in error["message"]
    assert Comment.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_at_once_from_many_connections_posts_once():
    # The unique (author, key) index makes the racing inserts wait for the first commit;
    # each loser answers with the winner's comment.
    post = PublishedPostFactory()
    author = UserFactory()
    got: list[tuple[int, bool]] = []

    def send() -> None:
        comment, created = services.comment_create_once(
            author=author, post=post, text="once", parent=None, idempotency_key="race")
        got.append((comment.pk, created))

    errors = _run_at_once([send] * 8)

    assert errors == []
    assert len({pk for pk, _ in got}) == 1
    assert sorted(created for _, created in got) == [False] * 7 + [True]
    assert Comment.objects.filter(post=post).count() == 1
    post.refresh_from_db()
    assert post.comments_count == 1
