"""Gifts in a live: through monetization's ledger to the HOST (gift_send's recipient), counted
on the live, idempotent, refused in words to minors, to the host themself and after the end
(nothing moves)."""

from __future__ import annotations

from datetime import date

import pytest

from apps.live.models import LiveStream
from apps.monetization.models import GiftSend
from tests.live.live_helpers import client_for, host, on_air
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    earnings,
    gift,
)

pytestmark = pytest.mark.django_db(transaction=True)  # a send takes row locks


def _send(user, live, gift_id, **headers):  # type: ignore[no-untyped-def]
    return client_for(user).post(f"/api/v1/live/{live.pk}/gifts", {"gift_id": str(gift_id)},
                                 format="json", **headers)


def test_a_live_gift_goes_to_the_host_and_counts_on_the_live() -> None:
    creator = host()
    live, _ = on_air(creator)
    viewer = adult()
    buy(viewer, coins=350)
    trophy = gift("Trophy")  # 100 coins = $1.00 of value
    sent = _send(viewer, live, trophy.pk, HTTP_IDEMPOTENCY_KEY="gift-1")
    assert sent.status_code == 201, sent.content
    assert sent.json()["live_id"] == str(live.pk)
    assert sent.json()["recipient"] == creator.username
    assert sent.json()["balance"] == 250
    again = _send(viewer, live, trophy.pk, HTTP_IDEMPOTENCY_KEY="gift-1")  # a retry
    assert again.status_code == 200
    assert again.json()["id"] == sent.json()["id"]
    send = GiftSend.objects.get()
    assert (send.recipient_id, send.live_id, send.post_id) == (creator.pk, live.pk, None)
    assert earnings(creator) == 500_000  # gifts: 50% to the creator
    live.refresh_from_db()
    assert live.gift_coins == 100
    assert balance(viewer) == 250
    assert_books_balance()

    # refusals, in words, moving nothing
    minor = adult(date_of_birth=date.today().replace(year=date.today().year - 15))
    young = _send(minor, live, trophy.pk)
    assert young.status_code == 403
    assert "18 and over" in young.json()["error"]["message"]
    buy(creator, coins=70)
    own = _send(creator, live, gift("Rose").pk)
    assert own.status_code in (400, 403), own.content
    assert own.json()["error"]["message"].endswith(".")
    unknown = _send(viewer, live, "123")
    assert unknown.status_code == 404
    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED)
    ended = _send(viewer, live, trophy.pk)
    assert ended.status_code == 404  # an ended live is the host's alone
    assert GiftSend.objects.count() == 1
    live.refresh_from_db()
    assert live.gift_coins == 100
