"""The Idempotency-Key of post create (as comment create's): a client's retry after a lost
answer (a 503 during a PostgreSQL restart after the commit) returns the post it made, where
it used to be a 409 "already posted" that left the client believing the post failed."""

from __future__ import annotations

from typing import Any

import pytest

from apps.content import services
from apps.content.models import Post, Sound
from apps.core.errors import ApplicationError
from tests.content.factories import MediaAssetFactory
from tests.content.helpers import content_snapshot, error_of
from tests.engagement.test_concurrency import _run_at_once
from tests.factories import UserFactory


def _create(client: Any, key: str | None, **body: Any) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/api/v1/posts", body, format="json", headers=headers)


@pytest.mark.django_db
def test_a_post_sent_twice_with_one_key_is_made_once(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    client = client_for(me)

    # the first answer committed (and may have been lost); the client retries with its key
    first = _create(client, "k-1", asset_id=str(asset.pk), caption="hello #retry")
    again = _create(client, "k-1", asset_id=str(asset.pk), caption="hello #retry")

    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert Post.objects.get().idempotency_key == "k-1"
    assert Sound.objects.filter(source_asset=asset).count() == 1


@pytest.mark.django_db
def test_without_a_key_a_second_post_of_the_upload_is_still_a_409(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    client = client_for(me)
    assert _create(client, None, asset_id=str(asset.pk)).status_code == 201

    again = _create(client, None, asset_id=str(asset.pk))

    assert again.status_code == 409
    assert error_of(again)["code"] == "asset_already_posted"


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["caption", "asset"])
def test_the_same_key_for_a_different_post_is_a_422(client_for, change):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    client = client_for(me)
    assert _create(client, "k", asset_id=str(asset.pk), caption="one").status_code == 201
    before = content_snapshot()

    answer = (_create(client, "k", asset_id=str(asset.pk), caption="two") if change == "caption"
              else _create(client, "k", asset_id=str(MediaAssetFactory(owner=me).pk),
                           caption="one"))

    assert answer.status_code == 422, answer.content
    error = error_of(answer)
    assert error["code"] == "idempotency_key_reused"
    assert "new key" in error["message"]
    assert content_snapshot() == before


@pytest.mark.django_db
def test_two_users_with_the_same_key_each_post(client_for):
    answers = []
    for _ in range(2):
        user = UserFactory()
        answers.append(_create(client_for(user), "shared",
                               asset_id=str(MediaAssetFactory(owner=user).pk)))

    assert [a.status_code for a in answers] == [201, 201]
    assert Post.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "comma,"])
def test_a_malformed_key_is_a_400_and_posts_nothing(client_for, key):
    me = UserFactory()

    answer = _create(client_for(me), key, asset_id=str(MediaAssetFactory(owner=me).pk))

    assert answer.status_code == 400, answer.content
    assert error_of(answer)["code"] == "invalid_idempotency_key"
    assert not Post.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_at_once_from_many_connections_posts_once():
    # The retries wait on the upload's row lock, then find it posted: each answers with
    # the first request's post.
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    got: list[tuple[int, bool]] = []

    def send() -> None:
        post, created = services.post_create_once(author=me, asset_id=asset.pk, caption="once",
                                                  idempotency_key="race")
        got.append((post.pk, created))

    errors = _run_at_once([send] * 6)

    assert errors == []
    assert len({pk for pk, _ in got}) == 1
    assert sorted(created for _, created in got) == [False] * 5 + [True]
    assert Post.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_key_sent_at_once_for_two_uploads_makes_one_post_and_a_422():
    # Different uploads take different row locks: the key's unique index decides.
    me = UserFactory()
    assets = [MediaAssetFactory(owner=me), MediaAssetFactory(owner=me)]
    made: list[int] = []

    def send(asset_id: int) -> Any:
        def run() -> None:
            post, created = services.post_create_once(author=me, asset_id=asset_id,
                                                      idempotency_key="one-key")
            assert created
            made.append(post.pk)
        return run

    errors = _run_at_once([send(asset.pk) for asset in assets])

    assert len(made) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], ApplicationError)
    assert errors[0].code == "idempotency_key_reused"
    assert errors[0].status_code == 422
    assert Post.objects.count() == 1
