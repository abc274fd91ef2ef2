"""Refunds and chargebacks of coin purchases: what they funded is taken back.

The rule (docs/architecture.md, "Chargebacks and refunds"), for an amount T the provider
took back from a purchase of N coins (a refund, or a dispute when it opens):
1. k = min(the purchase's coins not clawed yet, T // coin value) coins are clawed;
2. first from the buyer's wallet, as many as it holds (never below zero);
3. the rest were gifted or tipped: from the buyer's gifts and tips since the purchase,
   most recent first, each creator's share of those coins is taken back, first from that
   send's share still clearing (services/clearing.py: not payable yet), then from their
   unpaid available earnings (never below zero), then from their payouts not sent yet
   (services/clawback_holds.py: the hold voided, the payout held again for the rest or
   cancelled, the creator told), and the platform's share from platform revenue;
4. a creator's share already paid out is owed: debited to their `earnings_owed` account
   (a receivable), repaid first from their next released earnings (services/clearing.py);
   a payout request is refused while they owe;
5. what nobody can repay (coins not found) is a platform loss
   on the chargebacks account; the rest of T (the pack's margin) comes from platform revenue.
A dispute also bars the buyer from buying and spending coins until staff review it
(`SpendingBar`). A dispute the platform wins reverses its clawback (a new set).
Every claw is one linked set `claw:<purchase>:<event>:<n>` crediting provider clearing T.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import record_audit
from apps.monetization.models import Clawback, CoinPurchase, GiftSend, SpendingBar
from apps.monetization.services import clawback_holds
from apps.monetization.services import clearing as earnings_clearing
from apps.monetization.services.gifts import (
    EARNINGS_ASSET,
    coin_value_micros,
    earnings_of,
    wallet_of,
)
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.money import COIN, to_micros
from apps.payments.services.ledger import (
    InsufficientFundsError,
    Leg,
    platform_account,
    post_transfers,
    reverse,
)

ATTEMPTS = 3  # a creator's earnings can move between our read and the posting: read again


@dataclass
class _Plan:
    legs: list[Leg]
    wallet_coins: int
    earnings_micros: int  # from creators, clearing included
    clearing_micros: int  # of which from shares still clearing
    loss_micros: int
    takes: list[tuple[int, int]]  # (GiftSend id, coins clawed from it)
    clearing_takes: list[tuple[int, int]]  # (EarningsClearing id, micros taken from it)
    short: dict[int, int]  # creator id -> micros their clearing and earnings could not cover
    # (what the creator then owes: earnings_owed, repaid from their next released earnings)


def _plan(purchase: CoinPurchase, *, coins: int, total_micros: int) -> _Plan:
    buyer = purchase.user_id
    clearing = platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, EARNINGS_ASSET, buyer)
    revenue = platform_account(LedgerAccount.Kind.PLATFORM_REVENUE, EARNINGS_ASSET, buyer)
    legs: list[Leg] = []
    wallet = wallet_of(buyer)
    wallet.refresh_from_db()
    from_wallet = max(0, min(coins, wallet.available))
    if from_wallet:
        legs.append(Leg(wallet, platform_account(LedgerAccount.Kind.COIN_ISSUANCE, COIN, buyer),
                        from_wallet, "claw_coins"))
        legs.append(Leg(platform_account(LedgerAccount.Kind.COIN_SALES, EARNINGS_ASSET, buyer),
                        clearing, coin_value_micros(from_wallet), "claw_unspent"))
    left = coins - from_wallet
    creator_due: dict[int, int] = defaultdict(int)
    takes: list[tuple[int, int]] = []
    chosen: list[tuple[GiftSend, int]] = []  # (send, its creator share clawed)
    sends = (GiftSend.objects.select_for_update()
             .filter(sender_id=buyer, created_at__gte=purchase.credited_at,
                     clawed_coins__lt=F("coins")).order_by("-created_at", "-pk"))
    for send in sends if left else []:
        take = min(left, send.coins - send.clawed_coins)
        chosen.append((send, send.creator_micros * take // send.coins))
        takes.append((send.pk, take))
        left -= take
        if not left:
            break
    # Each share first from what of that send is still clearing (rows locked: the release
    # skips them meanwhile), the rest from the creator's available earnings.
    open_rows = earnings_clearing.lock_open([send.ledger_key for send, _ in chosen])
    from_clearing: dict[int, int] = defaultdict(int)
    clearing_takes: list[tuple[int, int]] = []
    for send, share in chosen:
        row = open_rows.get(send.ledger_key)
        got = min(share, row.left_micros) if row is not None else 0
        if got:
            from_clearing[send.recipient_id] += got
            clearing_takes.append((row.pk, got))  # type: ignore[union-attr]
        creator_due[send.recipient_id] += share - got
    for creator_id, got in sorted(from_clearing.items()):
        legs.append(Leg(earnings_clearing.clearing_account_of(creator_id), clearing, got,
                        "claw_clearing"))
    clearing_micros = sum(from_clearing.values())
    recovered, loss = clearing_micros, 0
    short: dict[int, int] = {}
    for creator_id, due in sorted(creator_due.items()):
        if not due:
            continue
        earnings = earnings_of(creator_id)
        earnings.refresh_from_db()
        got = max(0, min(due, earnings.available))
        if got:
            legs.append(Leg(earnings, clearing, got, "claw_earnings"))
        recovered += got
        if due > got:  # paid out already: the creator owes it (a receivable, not a loss)
            short[creator_id] = due - got
            legs.append(Leg(earnings_clearing.owed_account_of(creator_id), clearing, due - got,
                            "claw_owed"))
    owed = sum(short.values())
    loss += coin_value_micros(left)  # coins neither in the wallet nor in gifts
    # The platform's shares of the gifted coins and the pack's margin: whatever of T the
    # other legs do not credit, so the set credits clearing exactly T.
    platform_part = total_micros - coin_value_micros(from_wallet) - recovered - owed - loss
    if platform_part < 0:  # only if the coin's value changed since: the loss absorbs it
        loss, platform_part = loss + platform_part, 0
    if platform_part:
        legs.append(Leg(revenue, clearing, platform_part, "claw_platform"))
    if loss > 0:
        legs.append(Leg(platform_account(LedgerAccount.Kind.CHARGEBACKS, EARNINGS_ASSET, buyer),
                        clearing, loss, "chargeback_loss"))
    return _Plan(legs, from_wallet, recovered, clearing_micros, max(loss, 0), takes,
                 clearing_takes, short)


def _clawed_coins(purchase: CoinPurchase) -> int:
    total = purchase.clawbacks.exclude(event="dispute_won").aggregate(n=Sum("coins"))["n"]
    won = purchase.clawbacks.filter(event="dispute_won").aggregate(n=Sum("coins"))["n"]
    return int(total or 0) - int(won or 0)


def _clawed_micros(purchase: CoinPurchase) -> int:
    taken = purchase.clawbacks.exclude(event="dispute_won").aggregate(
        n=Sum("amount_micros"))["n"]
    returned = purchase.clawbacks.filter(event="dispute_won").aggregate(
        n=Sum("amount_micros"))["n"]
    return int(taken or 0) - int(returned or 0)


def claw_back(*, purchase: CoinPurchase, event: str, amount_minor: int, key: str) -> Clawback:
    """Take back what `amount_minor` of this purchase funded (the caller holds the
    purchase's row lock, in the provider event's transaction). Idempotent by `key`."""
    found = Clawback.objects.filter(key=key).first()
    if found is not None:
        return found
    # Never more than what is left of the purchase (a dispute after a partial refund is
    # for the rest): what the purchase put in clearing comes out of it once.
    left = to_micros(purchase.price_minor, purchase.currency) - _clawed_micros(purchase)
    total = min(to_micros(amount_minor, purchase.currency), left)
    if total <= 0:
        return Clawback.objects.create(purchase=purchase, event=event, key=key,
                                       amount_micros=0)
    coins = min(purchase.coins - _clawed_coins(purchase),
                total // coin_value_micros(1))
    for attempt in range(ATTEMPTS):
        plan = _plan(purchase, coins=coins, total_micros=total)
        try:
            with transaction.atomic():
                # What clearing and earnings cannot cover, a payout not sent yet may:
                # its hold is voided (the money back in earnings) and the claw re-planned.
                voided = clawback_holds.free(plan.short, key=key) if plan.short else []
                if voided:
                    plan = _plan(purchase, coins=coins, total_micros=total)
                if plan.legs:
                    post_transfers(key=f"claw:{key}", code="chargeback", legs=plan.legs,
                                   memo=f"{event} of coin purchase {purchase.pk}",
                                   metadata={"purchase": str(purchase.pk), "event": event,
                                             "takes": [[str(i), n] for i, n in plan.takes],
                                             "clearing": [[str(i), n]
                                                          for i, n in plan.clearing_takes],
                                             "owed": [[str(c), n]
                                                      for c, n in sorted(plan.short.items())]})
                for send_id, take in plan.takes:
                    GiftSend.objects.filter(pk=send_id).update(
                        clawed_coins=F("clawed_coins") + take)
                earnings_clearing.take(plan.clearing_takes)
                clawback_holds.rehold(voided, key=key)
                clawback_holds.tell_owed(plan.short, key=key)
                return Clawback.objects.create(
                    purchase=purchase, event=event, key=key, amount_micros=total, coins=coins,
                    wallet_coins=plan.wallet_coins, earnings_micros=plan.earnings_micros,
                    clearing_micros=plan.clearing_micros, loss_micros=plan.loss_micros)
        except InsufficientFundsError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def dispute_won(*, purchase: CoinPurchase, key: str) -> Clawback | None:
    """The platform won the dispute: the money is back, so its clawback is reversed (the
    coins and earnings return). The spending bar stays until staff lift it."""
    found = Clawback.objects.filter(key=key).first()
    if found is not None:
        return found
    claw = purchase.clawbacks.filter(event="disputed").order_by("-pk").first()
    if claw is None:
        return None
    original = TransferSet.objects.filter(key=f"claw:{claw.key}").first()
    with transaction.atomic():
        if original is not None:
            reverse(key=f"claw:{key}", original=original,
                    memo=f"dispute won for coin purchase {purchase.pk}")
            for send_id, take in original.metadata.get("takes", []):
                GiftSend.objects.filter(pk=int(send_id)).update(
                    clawed_coins=F("clawed_coins") - take)
            earnings_clearing.give_back(
                [(int(i), n) for i, n in original.metadata.get("clearing", [])],
                key=f"claw:{key}:cleared")
            earnings_clearing.owed_settled(
                [int(c) for c, _ in original.metadata.get("owed", [])], key=f"claw:{key}:owed")
        return Clawback.objects.create(
            purchase=purchase, event="dispute_won", key=key, amount_micros=claw.amount_micros,
            coins=claw.coins, wallet_coins=claw.wallet_coins,
            earnings_micros=claw.earnings_micros, clearing_micros=claw.clearing_micros,
            loss_micros=claw.loss_micros)


def bar_spending(*, purchase: CoinPurchase, reason: str) -> SpendingBar:
    bar = SpendingBar.objects.filter(purchase=purchase, lifted_at__isnull=True).first()
    return bar or SpendingBar.objects.create(user_id=purchase.user_id, purchase=purchase,
                                             reason=reason[:300])


def spending_bar_lift(*, bar: SpendingBar, actor: User, reason: str) -> SpendingBar:
    """Finance staff reviewed a chargeback: the buyer may buy and spend coins again
    (audited; a bar already lifted is left as it is)."""
    with transaction.atomic():
        locked = SpendingBar.objects.select_for_update().get(pk=bar.pk)
        if locked.lifted_at is None:
            locked.lifted_at = timezone.now()
            locked.lifted_by = actor
            locked.save(update_fields=["lifted_at", "lifted_by"])
            record_audit(actor=actor, action="monetization.spending_bar_lift", target=locked,
                         reason=reason, user=str(locked.user_id))
    return locked
