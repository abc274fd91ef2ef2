"""Gifts on posts: the ledger legs of monetization.md exactly, the revenue share staff set,
the creator told (grouped), refusals in words with nothing moved, idempotency, and the last
coins spent twice at once by real threads (one wins, the wallet never below zero)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection

from apps.core.models import OutboxTask
from apps.moderation.services import enforce
from apps.monetization import notices
from apps.monetization.models import GiftSend, RevenueShare
from apps.notifications.models import Notification
from apps.notifications.services import texts
from apps.payments.models import LedgerAccount
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    catalogue,
    client_for,
    creator_with_post,
    earnings,
    gift,
    platform_total,
)
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db(transaction=True)  # every send takes row locks
Kind = LedgerAccount.Kind


def _gift(client, post, gift_id, **headers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/posts/{post.pk}/gifts", {"gift_id": str(gift_id)},
                       format="json", **headers)


def test_a_gift_moves_the_coins_and_shares_their_value_as_configured():
    catalogue()
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer, coins=350)
    trophy = gift("Trophy")  # 100 coins = $1.00 of value
    answer = _gift(client_for(viewer), post, trophy.pk)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["balance"] == 250
    assert answer.json()["gift"]["emoji"] == "🏆"
    assert balance(viewer) == 250
    assert earnings(creator) == 500_000  # gifts: 50% to the creator
    send = GiftSend.objects.get()
    assert (send.creator_micros, send.platform_micros, send.creator_bps) == (500_000, 500_000,
                                                                             5000)
    # coin sales: $3.50 deferred at purchase, $1.00 of it released by the gift
    assert platform_total(Kind.COIN_SALES) == 2_500_000
    assert_books_balance()

    # finance staff change the share: the next gift follows it, the first stays as it was
    RevenueShare.objects.filter(source="gift").update(creator_bps=7000)
    assert _gift(client_for(viewer), post, trophy.pk).status_code == 201
    assert earnings(creator) == 500_000 + 700_000
    assert_books_balance()

    # the creator is told, once per send, grouped per post for the day
    assert OutboxTask.objects.filter(task="apps.monetization.notify_received").count() == 2
    for row in GiftSend.objects.order_by("pk"):
        notices.notify_received(row.pk)
        notices.notify_received(row.pk)  # a retried task tells nothing twice
    told = Notification.objects.get(recipient=creator)
    assert told.type == "gift_received"
    assert told.actor_count == 2
    title, body = texts.sentence(told, {viewer.pk: viewer.username})
    assert title == f"{viewer.username} sent you 2 gifts on your video"
    assert body == "Latest: 🏆 Trophy (100 coins)"


def test_refusals_are_in_words_and_move_nothing():
    catalogue()
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer, coins=70)
    client = client_for(viewer)
    rocket = gift("Rocket")  # 500 coins: more than the wallet
    short = _gift(client, post, rocket.pk)
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "insufficient_funds"
    assert "enough coins" in short.json()["error"]["message"]
    assert _gift(client, post, "123").status_code == 404  # no such gift
    bad_ids: list[object] = [None, True, 1.5, "x", [], {"id": 1}]
    for bad in bad_ids:
        answer = client.post(f"/api/v1/posts/{post.pk}/gifts", {"gift_id": bad},
                             format="json")
        assert answer.status_code == 400, bad

    own_post = creator_with_post()[1]
    own_post.author = viewer
    own_post.save(update_fields=["author"])
    self_gift = _gift(client, own_post, gift().pk)
    assert self_gift.status_code == 400
    assert self_gift.json()["error"]["message"] == "You can't send gifts or tips to yourself."

    minor_creator, minor_post = creator_with_post(
        date_of_birth=date.today() - timedelta(days=365 * 17))
    to_minor = _gift(client, minor_post, gift().pk)
    assert to_minor.status_code == 403
    assert to_minor.json()["error"]["message"] == "This account can't receive gifts or tips."

    # blocked either way: the post is not there for the blocked side (the one visibility rule)
    BlockFactory(blocker=creator, blocked=viewer)
    assert _gift(client, post, gift().pk).status_code == 404
    assert not GiftSend.objects.exists()
    assert balance(viewer) == 70
    assert earnings(creator) == 0
    assert_books_balance()
    del minor_creator


def test_a_banned_creator_and_a_minor_sender_are_refused():
    catalogue()
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer)
    enforce(action="ban", target_type="user", target_id=creator.pk,
            policy="violence_graphic", reason="test")
    answer = _gift(client_for(viewer), post, gift().pk)
    assert answer.status_code in (403, 404)  # gone from view (404) or refused in words
    assert answer.json()["error"]["message"]

    other_creator, other_post = creator_with_post()
    minor = adult(date_of_birth=date.today() - timedelta(days=365 * 15))
    answer = _gift(client_for(minor), other_post, gift().pk)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "under_18"
    assert not GiftSend.objects.exists()
    assert earnings(other_creator) == 0


def test_the_same_key_answers_the_first_send_and_refuses_another_body():
    catalogue()
    viewer = adult()
    _, post = creator_with_post()
    buy(viewer, coins=350)
    client = client_for(viewer)
    first = _gift(client, post, gift("Heart").pk, HTTP_IDEMPOTENCY_KEY="g-1")
    again = _gift(client, post, gift("Heart").pk, HTTP_IDEMPOTENCY_KEY="g-1")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = _gift(client, post, gift("Trophy").pk, HTTP_IDEMPOTENCY_KEY="g-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert balance(viewer) == 345  # one Heart (5 coins), once


def test_the_last_coins_spent_twice_at_once_go_once():
    """Real threads on their own connections: both sends of the last 70 coins race for the
    wallet row; the ledger's guarded update lets one through and refuses the other."""
    catalogue()
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer, coins=70)
    from apps.monetization.services.gifts import tip_send

    barrier = threading.Barrier(3)
    results: list[str] = []

    def spend(key: str) -> None:
        try:
            barrier.wait(timeout=10)
            tip_send(sender=viewer, recipient=creator, coins=70, post=post, key=key)
            results.append("sent")
        except Exception as refused:  # noqa: BLE001 - the refusal is the point
            results.append(getattr(refused, "code", repr(refused)))
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(f"race-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["insufficient_funds", "insufficient_funds", "sent"]
    assert balance(viewer) == 0
    assert GiftSend.objects.count() == 1
    assert earnings(creator) == 70 * 10_000 * 8000 // 10_000  # tips: 80%
    assert_books_balance()
