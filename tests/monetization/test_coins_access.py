"""The coins, gifts and tips routes that take an id, probed by another account and signed
out (the attacker sweep's ELSEWHERE names this test): other people's purchases are 404, a
post the sender may not see is 404, signed out is 401/403, garbage ids a 4xx; nothing
moves."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.monetization.models import GiftSend
from tests.content.factories import PostFactory
from tests.monetization.coin_helpers import adult, balance, buy, client_for, gift

pytestmark = pytest.mark.django_db(transaction=True)  # purchases and sends take row locks


def test_other_peoples_ids_and_signed_out_are_refused():
    owner, attacker = adult(), adult()
    purchase = buy(owner, coins=70)
    buy(attacker, coins=70)
    hidden = PostFactory(author=adult(is_private=True), visibility=Post.Visibility.PUBLIC)
    draft = PostFactory(author=adult(), status=Post.Status.DRAFT, published_at=None)
    client, anonymous = client_for(attacker), APIClient()

    assert client.get(f"/api/v1/coins/purchases/{purchase.pk}").status_code == 404
    for raw in ("x", "-1", "99999999999999999999999", "1.5"):
        assert client.get(f"/api/v1/coins/purchases/{raw}").status_code == 404
        assert client.post(f"/api/v1/posts/{raw}/tips", {"coins": 1},
                           format="json").status_code == 404
        assert client.post(f"/api/v1/posts/{raw}/gifts", {"gift_id": str(gift().pk)},
                           format="json").status_code == 404
    for post in (hidden, draft):
        assert client.post(f"/api/v1/posts/{post.pk}/gifts", {"gift_id": str(gift().pk)},
                           format="json").status_code == 404
        assert client.post(f"/api/v1/posts/{post.pk}/tips", {"coins": 5},
                           format="json").status_code == 404
    assert client.post("/api/v1/users/no_such_person/tips", {"coins": 5},
                       format="json").status_code == 404

    visible = PostFactory(author=adult())
    for method, path, body in [
        ("get", f"/api/v1/coins/purchases/{purchase.pk}", None),
        ("get", "/api/v1/coins/purchases", None),
        ("get", "/api/v1/coins/wallet", None),
        ("get", "/api/v1/coins/history", None),
        ("post", f"/api/v1/posts/{visible.pk}/gifts", {"gift_id": str(gift().pk)}),
        ("post", f"/api/v1/posts/{visible.pk}/tips", {"coins": 5}),
        ("post", f"/api/v1/users/{owner.username}/tips", {"coins": 5}),
    ]:
        answer = getattr(anonymous, method)(path, body, format="json")
        assert answer.status_code in (401, 403), path
        assert answer.json()["error"]["message"]
    assert not GiftSend.objects.exists()
    assert balance(attacker) == 70
    assert balance(owner) == 70
