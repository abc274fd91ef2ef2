"""A chargeback's claw on payouts that have not left yet (docs/architecture.md,
"Negative-balance policy").

A creator's payout request holds its amount (two-phase: earnings -> payouts_payable,
pending). While the payout waits for finance review (`in_review`) or has not been handed
to the provider yet (`processing` without a provider payout), a dispute of coins that
funded their earnings may take from that hold before booking a platform loss:

1. `free`: the creator's open payouts (newest first) are voided through the ledger's own
   `void_pending` (key `payout-clawed:<payout>:<claw key>`) until the freed money covers
   what the claw still needs; the money is back in `earnings`, where the claw's set then
   takes it (in the same transaction);
2. `rehold`: after the claw is posted, each voided payout is held again for what is left
   (whole cents, never more than it asked; key `payout:<payout>:after:<claw key>`, the same
   expiry) and the creator reads in words that it was reduced; a payout with nothing left
   is cancelled (state `cancelled`, its open review closed) and the creator reads why.

A payout already sent to the provider is never touched. Locks: the open reviews, then the
payouts (the review's own order), then the holds (the ledger's).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from apps.monetization import payout_notices
from apps.monetization.models import PayoutRequest, RiskReview
from apps.monetization.services.gifts import earnings_of
from apps.payments.models import LedgerAccount
from apps.payments.money import format_money, to_micros, to_minor
from apps.payments.services.ledger import Leg, account_for, hold, void_pending

NOT_SENT = (Q(state=PayoutRequest.State.IN_REVIEW)
            | Q(state=PayoutRequest.State.PROCESSING, provider_payout_id__isnull=True))
WHY = ("A card payment for coins that were gifted or tipped to you was disputed, and the "
       "money it earned you is taken back.")


def _open_payouts(creator_id: int) -> list[PayoutRequest]:
    """The creator's payouts not sent yet whose hold is still pending, locked, newest first."""
    list(RiskReview.objects.select_for_update()
         .filter(user_id=creator_id, state=RiskReview.State.OPEN).order_by("pk"))
    return list(PayoutRequest.objects.select_for_update(of=("self",)).select_related("hold")
                .filter(NOT_SENT, user_id=creator_id, hold__resolution__isnull=True)
                .order_by("-created_at", "-pk"))


def free(short: dict[int, int], *, key: str) -> list[PayoutRequest]:
    """Void the holds of creators' unsent payouts until each creator's shortfall (micros)
    is covered; returns the voided payouts (their money is back in earnings)."""
    voided: list[PayoutRequest] = []
    for creator_id, need in sorted(short.items()):
        for payout in _open_payouts(creator_id) if need > 0 else []:
            void_pending(key=f"payout-clawed:{payout.pk}:{key}", pending=payout.hold,
                         memo=f"Payout {payout.pk}: its hold freed for a chargeback")
            voided.append(payout)
            need -= to_micros(payout.amount_minor, payout.currency)
            if need <= 0:
                break
    return voided


def rehold(voided: list[PayoutRequest], *, key: str) -> None:
    """After the claw's set: hold each voided payout again for what its creator has left
    (oldest first), or cancel it; tell the creator in words."""
    now = timezone.now()
    for payout in sorted(voided, key=lambda p: (p.created_at, p.pk)):
        asked = format_money(to_micros(payout.amount_minor, payout.currency), payout.currency)
        left = min(payout.amount_minor,
                   to_minor(earnings_of(payout.user_id).available, payout.currency))
        if left > 0:
            expires = payout.hold.timeout_at or now
            payable = account_for(LedgerAccount.Kind.PAYOUTS_PAYABLE, owner_id=None,
                                  asset=payout.currency)
            payout.hold = hold(
                key=f"payout:{payout.pk}:after:{key}", code="payout",
                legs=[Leg(earnings_of(payout.user_id), payable,
                          to_micros(left, payout.currency), "payout")],
                timeout=max(expires - now, timedelta(minutes=1)),
                memo=f"Payout {payout.pk}, reduced by a chargeback")
            now_money = format_money(to_micros(left, payout.currency), payout.currency)
            payout.message = (f"Reduced from {asked} to {now_money}. {WHY} "
                              "The rest of the payout goes ahead.")[:1000]
            payout.amount_minor = left
            payout.save(update_fields=["hold", "amount_minor", "message", "updated_at"])
            title = f"Your payout of {asked} was reduced to {now_money}"
        else:
            payout.state = PayoutRequest.State.CANCELLED
            payout.message = (f"Cancelled: nothing of it is left. {WHY}")[:1000]
            payout.save(update_fields=["state", "message", "updated_at"])
            RiskReview.objects.filter(payout=payout, state=RiskReview.State.OPEN).update(
                state=RiskReview.State.REFUSED, decided_at=now,
                reason="Cancelled by a chargeback: the held money was taken back.")
            title = f"Your payout of {asked} was cancelled"
        payout_notices.tell(user_id=payout.user_id, key=f"payout:{payout.pk}:clawed:{key}",
                            title=title, body=payout.message)


def tell_owed(owed_micros: dict[int, int], *, key: str) -> None:
    """Tell each creator a dispute left owing (their share was already paid out) how much
    they owe and how it is repaid, in the claw's transaction (once per claw key)."""
    for creator_id, micros in sorted(owed_micros.items()):
        if micros <= 0:
            continue
        money = format_money(micros, "USD")
        payout_notices.tell(
            user_id=creator_id, key=f"owed:{key}:{creator_id}",
            title=f"You owe {money} after a disputed payment",
            body=(f"{WHY} {money} of it had already been paid out to you. It is repaid from "
                  "your next earnings before they become available, and payout requests "
                  "wait until it is."))

