"""Reads for coins, gifts and tips: the wallet, the catalogue, a person's own purchases and
their coin history (from the ledger's transfers on their wallet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.monetization.models import CoinPack, CoinPurchase, Gift, GiftSend
from apps.payments.models import LedgerAccount, Transfer
from apps.payments.money import COIN

PURCHASE_NOT_FOUND = "Purchase not found."


def wallet_balance(user_id: int) -> int:
    """The coins the person may spend now (0 before their first purchase)."""
    account = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.WALLET, owner_id=user_id,
                                           asset=COIN, shard=0).first()
    return account.available if account is not None else 0


def packs_on_sale() -> QuerySet[CoinPack]:
    return CoinPack.objects.filter(active=True)


def gifts_on_offer() -> QuerySet[Gift]:
    return Gift.objects.filter(active=True)


def purchases_of(user: User) -> QuerySet[CoinPurchase]:
    return CoinPurchase.objects.filter(user_id=user.pk).exclude(
        status=CoinPurchase.Status.STARTED)


def get_purchase_for(user: User, *, purchase_id: int) -> CoinPurchase:
    """The person's own purchase; anyone else's id is a 404."""
    found = CoinPurchase.objects.filter(pk=purchase_id, user_id=user.pk).first()
    if found is None:
        raise NotFoundError(PURCHASE_NOT_FOUND)
    return found


@dataclass(frozen=True)
class HistoryLine:
    id: int
    at: datetime
    coins: int  # + in, - out
    what: str  # in words


_WORDS = {"coin_purchase": "Bought coins", "chargeback": "Taken back (refund or dispute)",
          "reversal": "Returned (dispute won)"}


def history_of(user: User) -> QuerySet[Transfer]:
    """The transfers in and out of the person's wallet, newest first (paginate by id)."""
    wallet = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.WALLET, owner_id=user.pk,
                                          asset=COIN, shard=0).first()
    if wallet is None:
        return Transfer.objects.none()
    return (Transfer.objects.filter(Q(debit_account=wallet) | Q(credit_account=wallet))
            .select_related("set", "debit_account"))


def history_lines(user: User, transfers: list[Transfer]) -> list[HistoryLine]:
    """Words for a page of `history_of`: one query for the gifts and tips it names."""
    send_ids = [int(t.set.metadata["send"]) for t in transfers
                if t.set.code in (GiftSend.Kind.GIFT, GiftSend.Kind.TIP)
                and str(t.set.metadata.get("send", "")).isdigit()]
    sends = {s.pk: s for s in GiftSend.objects.filter(pk__in=send_ids)
             .select_related("gift", "recipient")}
    lines = []
    for t in transfers:
        sign = -1 if t.debit_account.owner_id == user.pk else 1
        what = _WORDS.get(t.set.code, "Coins moved")
        send = sends.get(int(t.set.metadata.get("send", 0) or 0))
        if send is not None:
            to = f"@{send.recipient.username}"
            what = (f"{send.gift.name} gift to {to}" if send.gift
                    else f"Tip to {to}")
        lines.append(HistoryLine(id=t.pk, at=t.created_at, coins=sign * t.amount, what=what))
    return lines
