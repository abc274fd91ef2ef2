"""Tips on posts and profiles: every bad amount of the issue's list refused (400 in the
error shape, nothing moved), a tip to oneself, across blocks, velocity."""

from __future__ import annotations

import pytest

from apps.monetization.models import GiftSend
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    client_for,
    creator_with_post,
    earnings,
)
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db(transaction=True)  # sends take row locks

BAD_AMOUNTS = [-5, 0, 1.5, 5.0, "5", "five", True, False, None, 10**12 + 1, 10**13, 2**63,
               [5], {"coins": 5}]


@pytest.fixture
def funded():  # type: ignore[no-untyped-def]
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer, coins=350)
    return viewer, creator, post


def test_tips_on_a_post_and_a_profile(funded):  # type: ignore[no-untyped-def]
    viewer, creator, post = funded
    client = client_for(viewer)
    on_post = client.post(f"/api/v1/posts/{post.pk}/tips", {"coins": 50}, format="json")
    assert on_post.status_code == 201, on_post.json()
    assert on_post.json()["post_id"] == str(post.pk)
    on_profile = client.post(f"/api/v1/users/{creator.username.upper()}/tips", {"coins": 25},
                             format="json")
    assert on_profile.status_code == 201
    assert on_profile.json()["post_id"] is None
    assert balance(viewer) == 275
    assert earnings(creator) == 75 * 10_000 * 8000 // 10_000
    history = client.get("/api/v1/coins/history").json()["results"]
    assert [line["coins"] for line in history] == [-25, -50, 350]
    assert history[0]["what"] == f"Tip to @{creator.username}"
    assert_books_balance()


def test_every_bad_amount_is_refused_and_nothing_moves(funded):  # type: ignore[no-untyped-def]
    viewer, creator, post = funded
    client = client_for(viewer)
    for amount in BAD_AMOUNTS:
        for path in (f"/api/v1/posts/{post.pk}/tips", f"/api/v1/users/{creator.username}/tips"):
            answer = client.post(path, {"coins": amount}, format="json")
            assert answer.status_code == 400, (amount, answer.json())
            error = answer.json()["error"]
            assert error["fields"]["coins"], error
            assert error["message"]
    assert client.post(f"/api/v1/posts/{post.pk}/tips", {}, format="json").status_code == 400
    assert client.post(f"/api/v1/posts/{post.pk}/tips", "[1]", content_type="application/json"
                       ).status_code == 400
    assert client.post(f"/api/v1/posts/{post.pk}/tips", {"coins": 351},
                       format="json").status_code == 409  # more than the wallet
    assert not GiftSend.objects.exists()
    assert balance(viewer) == 350
    assert earnings(creator) == 0


def test_oneself_blocks_and_unknown_people_are_refused(funded):  # type: ignore[no-untyped-def]
    viewer, creator, _post = funded
    client = client_for(viewer)
    own = client.post(f"/api/v1/users/{viewer.username}/tips", {"coins": 5}, format="json")
    assert own.status_code == 400
    assert own.json()["error"]["code"] == "self_gift"
    assert client.post("/api/v1/users/nobody-here/tips", {"coins": 5},
                       format="json").status_code == 404
    assert client.post("/api/v1/posts/999/tips", {"coins": 5}, format="json").status_code == 404

    BlockFactory(blocker=viewer, blocked=creator)  # the viewer's own block: said plainly
    blocked = client.post(f"/api/v1/users/{creator.username}/tips", {"coins": 5},
                          format="json")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["message"] == ("You blocked this account. Unblock it to "
                                                  "send gifts or tips.")
    other_creator = adult()
    BlockFactory(blocker=other_creator, blocked=viewer)  # theirs: they are not there
    assert client.post(f"/api/v1/users/{other_creator.username}/tips", {"coins": 5},
                       format="json").status_code == 404
    assert not GiftSend.objects.exists()
    assert balance(viewer) == 350


def test_coins_given_per_hour_are_limited(funded, settings):  # type: ignore[no-untyped-def]
    viewer, creator, _ = funded
    settings.SWIPEME_MONETIZATION_LIMITS = {"coins_given_per_hour": 100}
    client = client_for(viewer)
    path = f"/api/v1/users/{creator.username}/tips"
    assert client.post(path, {"coins": 60}, format="json").status_code == 201
    over = client.post(path, {"coins": 41}, format="json")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "velocity_limit"
    assert client.post(path, {"coins": 40}, format="json").status_code == 201
    assert balance(viewer) == 250
