"""Deals that end otherwise: cancellation (refund before the draft, the late-cancel share
after), disputes and their settlement by staff (audited), and the one settlement set."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.services.funding import balance_account
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, ConflictError
from apps.marketplace.conf import conf
from apps.marketplace.models import Deal
from apps.marketplace.services.deals.rules import (
    AFTER_DRAFT,
    CURRENCY,
    OPEN_BEFORE_DRAFT,
    S,
    _escrow,
    _expect,
    _locked,
    _note,
    _side,
    _text,
)
from apps.monetization.services.gifts import earnings_of
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.money import to_micros
from apps.payments.services.ledger import (
    Leg,
    platform_account,
    post_transfers,
    void_pending,
)


def deal_cancel(*, user: User, deal_id: int, reason: Any = "") -> Deal:
    """Before the draft: the hold is voided (nothing left the brand's balance). After it:
    a brand cancelling pays the creator the late-cancel share, a creator withdrawing
    refunds the brand in full. Published, paid, declined, cancelled or disputed deals
    cannot be cancelled."""
    words = _text(reason, "reason", 500, required=False) if reason else ""
    with transaction.atomic():
        deal = _locked(deal_id)
        side = _side(user, deal)
        _expect(deal, *OPEN_BEFORE_DRAFT, *AFTER_DRAFT, doing="cancel")
        who = deal.org.name if side == "brand" else f"@{deal.creator.username}"
        if deal.funded_at is None:
            if deal.hold_set is not None:
                void_pending(
                    key=f"deal-void:{deal.pk}",
                    pending=deal.hold_set,
                    memo=f"deal {deal.pk}: cancelled",
                    created_by_id=user.pk,
                )
            _note(
                deal,
                f"{who} cancelled before the draft: the held fee went back to the brand's balance."
                if deal.hold_set
                else f"{who} cancelled.",
                actor=user,
            )
        else:
            share = (
                int(conf("SWIPEME_MARKETPLACE_LATE_CANCEL_CREATOR_BPS")) if side == "brand" else 0
            )
            _settle(deal, creator_bps=share, by=user)
            _note(
                deal,
                f"{who} cancelled after the draft: "
                + (
                    f"the creator is paid {share / 100:g}% of the fee and the rest "
                    "went back to the brand."
                    if share
                    else "the fee went back to the brand."
                ),
                actor=user,
            )
        deal.state, deal.ended_reason = S.CANCELLED, words
        deal.save(update_fields=["state", "ended_reason", "updated_at"])
    return deal


def deal_dispute(*, user: User, deal_id: int, reason: Any) -> Deal:
    words = _text(reason, "reason", 500)
    with transaction.atomic():
        deal = _locked(deal_id)
        side = _side(user, deal)
        _expect(deal, *AFTER_DRAFT, doing="open a dispute")
        deal.state, deal.disputed_by, deal.ended_reason = S.DISPUTED, side, words
        deal.save(update_fields=["state", "disputed_by", "ended_reason", "updated_at"])
        _note(
            deal,
            f"The {side} opened a dispute: “{words}”. Our team will decide how the "
            "fee in escrow is split; both sides are told here.",
            actor=user,
        )
    return deal


def dispute_resolve(
    *, staff: Actor, deal_id: int, creator_bps: Any, reason: str, ip: str | None = None
) -> Deal:
    """Staff decide a dispute: the creator's share of the fee (0..10,000 basis points), the
    rest back to the brand. One audit row; the decision is written on the deal."""
    if type(creator_bps) is not int or not 0 <= creator_bps <= 10_000:
        raise ApplicationError(
            "The creator's share is 0 to 10,000 basis points.",
            code="invalid",
            fields={"creator_bps": ["0 to 10,000."]},
        )
    if not reason.strip():
        raise ApplicationError(
            "Give the reason both sides will read.",
            code="invalid",
            fields={"reason": ["Required."]},
        )
    with transaction.atomic():
        deal = _locked(deal_id)
        _expect(deal, S.DISPUTED, doing="resolve a dispute")
        _settle(deal, creator_bps=creator_bps, by=staff)
        deal.state = S.PAID if creator_bps else S.CANCELLED
        deal.paid_at = timezone.now() if creator_bps else None
        deal.save(update_fields=["state", "paid_at", "updated_at"])
        _note(
            deal,
            f"Our team decided the dispute: the creator is paid {creator_bps / 100:g}% "
            f"of the fee, the rest goes back to the brand. “{reason.strip()}”",
            side="staff",
        )
        record_audit(
            actor=staff,
            action="marketplace.dispute_resolve",
            target=deal,
            reason=reason,
            ip=ip,
            creator_bps=creator_bps,
        )
    return deal


# --- the money's end -------------------------------------------------------------------------


def _settle(deal: Deal, *, creator_bps: int, by: Actor) -> TransferSet:
    """Empty the deal's escrow in one set: the creator's share less the platform fee to
    their earnings, the fee to platform revenue, the rest back to the brand."""
    if deal.funded_at is None or deal.settle_set_id is not None:
        raise ConflictError("This deal's escrow was already settled.", code="already_settled")
    total = to_micros(deal.fee_minor, CURRENCY)
    gross = total * creator_bps // 10_000
    fee = gross * deal.platform_fee_bps // 10_000
    creator_net, refund = gross - fee, total - gross
    escrow = _escrow(deal)
    legs = [
        leg
        for leg in (
            Leg(escrow, earnings_of(deal.creator_id), creator_net, "marketplace_payout"),
            Leg(
                escrow,
                platform_account(LedgerAccount.Kind.PLATFORM_REVENUE, CURRENCY, deal.pk),
                fee,
                "marketplace_fee",
            ),
            Leg(escrow, balance_account(deal.org), refund, "marketplace_refund"),
        )
        if leg.amount > 0
    ]
    actor_id = by.pk if by is not None and by.is_authenticated else None
    deal.settle_set = post_transfers(
        key=f"deal-settle:{deal.pk}",
        code="marketplace_settle",
        legs=legs,
        memo=f"deal {deal.pk}",
        created_by_id=actor_id,
    )
    deal.creator_paid_micros, deal.platform_fee_micros = creator_net, fee
    deal.refunded_micros = refund
    deal.save(
        update_fields=[
            "settle_set",
            "creator_paid_micros",
            "platform_fee_micros",
            "refunded_micros",
            "updated_at",
        ]
    )
    return deal.settle_set
