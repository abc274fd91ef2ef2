"""Gifts and tips: coins from a viewer's wallet to a creator's earnings, on the ledger.

One linked set per send (`gift:<GiftSend id>`), with the legs of docs/architecture.md
("Payments and monetization"): the coins go back to issuance, and the coins' value moves
from coin sales (deferred revenue) to the creator's earnings clearing account (their share,
per `RevenueShare`; payable after the source's clearing period: services/clearing.py) and
to platform revenue (the rest). The `GiftSend` row and the ledger set
commit together or not at all; a wallet short of coins refuses it (the ledger's guarded
update and the database's CHECK), so nothing moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from apps.accounts.models import User
from apps.content.models import Post
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.idempotency import key_reused
from apps.core.outbox import enqueue_on_commit
from apps.monetization import velocity
from apps.monetization.eligibility import may_send_gift, require
from apps.monetization.models import Gift, GiftSend, RevenueShare
from apps.monetization.services import clearing
from apps.monetization.tasks import notify_received
from apps.payments.models import LedgerAccount
from apps.payments.money import COIN
from apps.payments.services.ledger import (
    InsufficientFundsError,
    Leg,
    account_for,
    platform_account,
    post_transfers,
)

MAX_TIP_COINS = 100_000  # one tip; the velocity limits bound the day
EARNINGS_ASSET = "USD"  # creators' earnings (the coins' currency, models.coins.COIN_CURRENCY)
DEFAULT_SHARES = {RevenueShare.Source.GIFT: 5000, RevenueShare.Source.TIP: 8000,
                  RevenueShare.Source.SUBSCRIPTION: 7000}


def revenue_share_bps(source: str) -> int:
    """The creator's share of `source` in basis points (the staff-edited row, or the
    default when staff deleted it)."""
    found = (RevenueShare.objects.filter(source=source)
             .values_list("creator_bps", flat=True).first())
    return int(found) if found is not None else DEFAULT_SHARES[RevenueShare.Source(source)]


def _terms(source: str) -> tuple[int, int]:
    """(the creator's share in basis points, the clearing days) of `source`, in one read."""
    found = (RevenueShare.objects.filter(source=source)
             .values_list("creator_bps", "clearing_days").first())
    if found is None:
        return DEFAULT_SHARES[RevenueShare.Source(source)], clearing.DEFAULT_CLEARING_DAYS
    return int(found[0]), int(found[1])


def coin_value_micros(coins: int) -> int:
    return coins * int(settings.SWIPEME_COIN_VALUE_MICROS)


def wallet_of(user_id: int) -> LedgerAccount:
    return account_for(LedgerAccount.Kind.WALLET, owner_id=user_id, asset=COIN)


def earnings_of(user_id: int) -> LedgerAccount:
    return account_for(LedgerAccount.Kind.EARNINGS, owner_id=user_id, asset=EARNINGS_ASSET)


def _legs(send: GiftSend, *, clearing_days: int) -> list[Leg]:
    spread = send.sender_id
    legs = [Leg(wallet_of(send.sender_id),
                platform_account(LedgerAccount.Kind.COIN_ISSUANCE, COIN, spread),
                send.coins, "coins_spent")]
    sales = platform_account(LedgerAccount.Kind.COIN_SALES, EARNINGS_ASSET, spread)
    if send.creator_micros > 0:
        legs.append(Leg(sales, clearing.share_account(send.recipient_id, days=clearing_days),
                        send.creator_micros, "creator_share"))
    if send.platform_micros > 0:
        legs.append(Leg(sales, platform_account(LedgerAccount.Kind.PLATFORM_REVENUE,
                                                EARNINGS_ASSET, spread),
                        send.platform_micros, "platform_fee"))
    return legs


def _same_request(found: GiftSend, *, kind: str, recipient: User, coins: int,
                  gift: Gift | None, post: Post | None, live_id: int | None) -> bool:
    return (found.kind == kind and found.recipient_id == recipient.pk and found.coins == coins
            and found.gift_id == (gift.pk if gift else None)
            and found.post_id == (post.pk if post else None) and found.live_id == live_id)


def _send(*, kind: str, sender: User, recipient: User, coins: int, gift: Gift | None,
          post: Post | None, live_id: int | None, key: str | None,
          session_key: str | None) -> tuple[GiftSend, bool]:
    """(the send, created?). A retry with the same key and body answers the first send;
    the same key with another body is refused (422) and moves nothing."""
    if type(coins) is not int or not 0 < coins <= MAX_TIP_COINS:
        raise ApplicationError(f"Coins must be a whole number from 1 to {MAX_TIP_COINS:,}.",
                               code="invalid_amount", fields={"coins": ["Out of range."]})
    with transaction.atomic():
        velocity.lock_money_of(sender.pk)  # one money action of this person at a time
        if key is not None:
            found = GiftSend.objects.filter(sender_id=sender.pk, idempotency_key=key).first()
            if found is not None:
                if not _same_request(found, kind=kind, recipient=recipient, coins=coins,
                                     gift=gift, post=post, live_id=live_id):
                    raise key_reused()
                return found, False
        require(may_send_gift(sender, recipient))
        velocity.check_spend(sender, coins, session_key=session_key)
        bps, days = _terms(kind)
        value = coin_value_micros(coins)
        creator = value * bps // 10_000
        send = GiftSend.objects.create(
            kind=kind, sender=sender, recipient=recipient, gift=gift, post=post,
            live_id=live_id, coins=coins, creator_bps=bps, creator_micros=creator,
            platform_micros=value - creator, idempotency_key=key)
        try:
            post_transfers(key=send.ledger_key, code=kind, legs=_legs(send, clearing_days=days),
                           metadata={"send": str(send.pk), "post": str(post.pk) if post else None,
                                     "live": str(live_id) if live_id else None})
        except InsufficientFundsError:
            raise InsufficientFundsError(
                "You don't have enough coins for this. Buy more on the Coins page.",
                fields={"coins": ["More than your balance."]}) from None
        clearing.clearing_open(creator_id=recipient.pk, source=kind, source_key=send.ledger_key,
                               micros=creator, days=days, now=send.created_at)
        enqueue_on_commit(notify_received, str(send.pk))
    return send, True


def active_gifts() -> Sequence[Gift]:
    return list(Gift.objects.filter(active=True))


def gift_send(*, sender: User, gift_id: int, post: Post | None = None,
              live_id: int | None = None, recipient: User | None = None, key: str | None = None,
              session_key: str | None = None) -> tuple[GiftSend, bool]:
    """Send a gift from the catalogue on a post (to its creator), or in a live stream
    (`live_id`, to its host: the live app names the host as `recipient`). Whether the
    sender may see the post or the live is the caller's check
    (`content.selectors.get_post_for`, `live.selectors.live_for`)."""
    gift = Gift.objects.filter(pk=gift_id, active=True).first()
    if gift is None:
        raise NotFoundError("This gift is not available.", code="gift_not_found")
    if live_id is not None:
        if recipient is None or post is not None:
            raise ApplicationError("A gift in a live goes to its host.", code="invalid")
        to = recipient
    elif post is None:
        raise ApplicationError("Gifts are sent on a video.", code="invalid",
                               fields={"post_id": ["Required."]})
    else:
        to = post.author
    return _send(kind=GiftSend.Kind.GIFT, sender=sender, recipient=to, coins=gift.coins,
                 gift=gift, post=post, live_id=live_id, key=key, session_key=session_key)


def tip_send(*, sender: User, recipient: User, coins: int, post: Post | None = None,
             key: str | None = None, session_key: str | None = None) -> tuple[GiftSend, bool]:
    """Tip a creator some coins, on one of their posts or on their profile."""
    if post is not None and post.author_id != recipient.pk:
        raise ApplicationError("A tip on a video goes to its creator.", code="invalid")
    return _send(kind=GiftSend.Kind.TIP, sender=sender, recipient=recipient, coins=coins,
                 gift=None, post=post, live_id=None, key=key, session_key=session_key)
