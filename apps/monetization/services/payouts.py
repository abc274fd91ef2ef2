"""Payouts: two-phase on the ledger, sent through the payment provider, held for finance
review when a risk signal fires.

1. `payout_request`: eligibility (`eligibility.may_request_payout`), velocity
   (`fraud.payout_velocity_refusal`), the amount (minimum, balance), then in ONE commit:
   the ledger hold (earnings → payouts_payable, pending, key `payout:<id>`) and the row. With
   risk signals the row waits `in_review` (a `RiskReview` in the finance queue); without,
   it is `processing` and `payout_send` runs after the commit (a task through the outbox).
2. `payout_send`: `payments.start_payout` with the key `payout:<id>` (the provider makes
   one payout per key, however often this runs).
3. The provider's webhook (`payments.hooks.payout_event`, `payout_event_received`): paid →
   `post_pending` (the money leaves); failed → `void_pending` (it returns to earnings).
4. Finance review: `payout_review_release` (→ processing, sent) or `payout_review_refuse`
   (the hold voided). Audited; the creator is told in words at each step.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, ConflictError
from apps.core.idempotency import create_once, key_reused
from apps.core.ids import allocate_ids
from apps.core.outbox import enqueue_on_commit
from apps.monetization import eligibility, fraud, payout_notices
from apps.monetization.models import KycProfile, PayoutRequest, RiskReview
from apps.monetization.services.clearing import clearing_of, owed_micros
from apps.monetization.services.gifts import earnings_of
from apps.payments.hooks import PayoutEvent
from apps.payments.models import LedgerAccount
from apps.payments.money import format_money, to_micros
from apps.payments.services.ledger import (
    InsufficientFundsError,
    Leg,
    account_for,
    hold,
    post_pending,
    post_transfers,
    void_pending,
)
from apps.payments.services.payments import check_amount, check_currency, start_payout

PAYOUT_CURRENCY = "USD"  # earnings are kept in USD
_DESTINATION = re.compile(r"[A-Za-z0-9_-]{3,64}")
PURPOSE_PREFIX = "payout:"
logger = logging.getLogger(__name__)


def _currency(value: object) -> str:
    currency = check_currency(value)  # unknown currencies: payments' one refusal
    if currency != PAYOUT_CURRENCY:
        raise ApplicationError("Earnings are paid out in US dollars.", code="invalid_currency",
                               fields={"currency": ["USD."]})
    return currency


def _destination(value: object) -> str:
    if not isinstance(value, str) or not _DESTINATION.fullmatch(value.strip()):
        raise ApplicationError("Say where the money goes: your payout account's id.",
                               code="invalid_destination",
                               fields={"destination": ["3-64 letters, digits, _ or -."]})
    return value.strip()


def balance_of(user_id: int) -> LedgerAccount:
    """The creator's earnings account: `available` may be paid out, `debits_pending` is
    held by payouts on their way."""
    return earnings_of(user_id)


def _hold_legs(user_id: int, amount_minor: int) -> list[Leg]:
    payable = account_for(LedgerAccount.Kind.PAYOUTS_PAYABLE, owner_id=None,
                          asset=PAYOUT_CURRENCY)
    return [Leg(earnings_of(user_id), payable, to_micros(amount_minor, PAYOUT_CURRENCY),
                "payout")]


def _create(user: User, *, amount_minor: int, currency: str, destination: str,
            key: str | None) -> PayoutRequest:
    eligibility.require(eligibility.may_request_payout(user))
    signals = fraud.payout_risk_signals(user.pk)
    pk = allocate_ids(1)[0]
    with transaction.atomic():
        # One payout request of a creator at a time (their KYC row's lock): the velocity
        # count and the balance check below then see every earlier request.
        KycProfile.objects.select_for_update().filter(user_id=user.pk).first()
        owed = owed_micros(user.pk)
        if owed:  # a chargeback of earnings already paid out (services/chargebacks.py)
            raise ApplicationError(
                f"You owe {format_money(owed, PAYOUT_CURRENCY)}: card payments for coins "
                "gifted or tipped to you were disputed after that money was paid out. It is "
                "repaid from your next cleared earnings; you can ask for a payout once it is.",
                code="earnings_owed", status_code=409)
        eligibility.require(fraud.payout_velocity_refusal(user.pk))
        available = balance_of(user.pk).available
        eligibility.require(eligibility.payout_amount_refusal(
            amount_minor=amount_minor, available_micros=available,
            clearing=(clearing_of(user.pk)
                      if to_micros(amount_minor, PAYOUT_CURRENCY) > available else None)))
        try:
            held = hold(key=f"{PURPOSE_PREFIX}{pk}", code="payout",
                        legs=_hold_legs(user.pk, amount_minor),
                        timeout=timedelta(days=settings.SWIPEME_PAYOUT_HOLD_DAYS),
                        memo=f"Payout {pk}", created_by_id=user.pk)
        except InsufficientFundsError as exc:  # spent meanwhile (another payout, a clawback)
            raise ApplicationError("That is more than your balance.",
                                   code="insufficient_funds", status_code=409,
                                   fields={"amount_minor": ["More than your balance."]}) from exc
        money = format_money(to_micros(amount_minor, currency), currency)
        if signals:
            payout = PayoutRequest.objects.create(
                id=pk, user_id=user.pk, amount_minor=amount_minor, currency=currency,
                destination=destination, state=PayoutRequest.State.IN_REVIEW, hold=held,
                idempotency_key=key,
                message="Held for a routine security review. Our finance team checks it "
                        "within 2 business days; the money stays reserved for you.")
            RiskReview.objects.create(payout=payout, user_id=user.pk,
                                      signals=[s.as_dict() for s in signals])
            payout_notices.tell(user_id=user.pk, key=f"payout:{pk}:review",
                                title=f"Your payout of {money} is being reviewed",
                                body=payout.message)
        else:
            payout = PayoutRequest.objects.create(
                id=pk, user_id=user.pk, amount_minor=amount_minor, currency=currency,
                destination=destination, state=PayoutRequest.State.PROCESSING, hold=held,
                idempotency_key=key)
            _send_on_commit(payout)
        return payout


def _send_on_commit(payout: PayoutRequest) -> None:
    from apps.monetization.tasks import send_payout  # tasks import services

    enqueue_on_commit(send_payout, str(payout.pk))


def payout_request(*, user: User, amount_minor: object, currency: object = PAYOUT_CURRENCY,
                   destination: object, key: str | None = None) -> tuple[PayoutRequest, bool]:
    """Ask to be paid out; (the row, created). A retry with the same Idempotency-Key answers
    the first request's row; the same key with another amount is refused (422)."""
    amount = check_amount(amount_minor, field="amount_minor")
    money = _currency(currency)
    where = _destination(destination)

    def find(k: str) -> PayoutRequest | None:
        found = PayoutRequest.objects.filter(user_id=user.pk, idempotency_key=k).first()
        if found is not None and (found.amount_minor, found.currency, found.destination) != (
                amount, money, where):
            raise key_reused()
        return found

    return create_once(key, find=find, create=lambda k: _create(
        user, amount_minor=amount, currency=money, destination=where, key=k))


def payout_send(payout_id: int) -> PayoutRequest | None:
    """Hand a processing payout to the provider (the task; safe to run twice: the
    provider's key is the payout's). Under the payout's row lock, so a chargeback that
    takes from a payout not sent yet (services/clawback_holds.py) either comes before
    (the send sees the reduced amount or the cancel) or after (it sees it sent)."""
    with transaction.atomic():
        payout = _locked(payout_id)
        if payout is None or payout.state != PayoutRequest.State.PROCESSING:
            return payout
        if payout.provider_payout_id is not None:
            return payout
        sent = start_payout(user_id=payout.user_id, amount_minor=payout.amount_minor,
                            currency=payout.currency, destination=payout.destination,
                            key=f"{PURPOSE_PREFIX}{payout.pk}",
                            purpose=f"{PURPOSE_PREFIX}{payout.pk}")
        PayoutRequest.objects.filter(pk=payout.pk, provider_payout_id__isnull=True).update(
            provider_payout_id=sent.pk, updated_at=timezone.now())
    payout.refresh_from_db()
    return payout


def _locked(payout_id: int) -> PayoutRequest | None:
    return (PayoutRequest.objects.select_for_update(of=("self",)).select_related("hold")
            .filter(pk=payout_id).first())


def payout_event_received(*, event: PayoutEvent) -> None:
    """payments' `payout_event` hook (in the webhook's transaction, once per provider
    event): the provider paid (post the hold) or failed (void it: the money returns)."""
    if not event.purpose.startswith(PURPOSE_PREFIX):
        return
    try:
        payout_id = int(event.purpose.removeprefix(PURPOSE_PREFIX))
    except ValueError:
        return
    with transaction.atomic():
        payout = _locked(payout_id)
        if payout is None or payout.state != PayoutRequest.State.PROCESSING:
            return  # already settled (a repeated event), or not ours
        money = format_money(to_micros(payout.amount_minor, payout.currency), payout.currency)
        expired = hasattr(payout.hold, "resolution")  # voided by the ledger's expiry task
        if event.kind == "paid" and expired:
            _post_late(payout)
            payout.state = PayoutRequest.State.PAID
            payout.message = ""
            title, body = (f"Your payout of {money} was paid",
                           "It is on its way to your payout account.")
        elif event.kind == "paid":
            post_pending(key=f"payout-paid:{payout.pk}", pending=payout.hold,
                         memo=f"Payout {payout.pk} paid")
            payout.state = PayoutRequest.State.PAID
            payout.message = ""
            title, body = (f"Your payout of {money} was paid",
                           "It is on its way to your payout account.")
        else:
            if not expired:
                void_pending(key=f"payout-failed:{payout.pk}", pending=payout.hold,
                             memo=f"Payout {payout.pk} failed")
            payout.state = PayoutRequest.State.FAILED
            payout.message = (f"The payout failed: {event.reason or 'the provider refused it'}"
                              ". The money is back in your balance.")[:1000]
            title, body = f"Your payout of {money} failed", payout.message
        payout.provider_payout_id = payout.provider_payout_id or event.payout_id
        payout.save(update_fields=["state", "message", "provider_payout_id", "updated_at"])
        payout_notices.tell(user_id=payout.user_id, key=f"payout:{payout.pk}:{payout.state}",
                            title=title, body=body)


def _post_late(payout: PayoutRequest) -> None:
    """The provider paid after the hold expired (its money went back to earnings): take the
    amount again, single-phase. If the creator has spent it meanwhile (only a clawback can),
    the books stay as they are and finance is alerted: never a webhook retried forever."""
    try:
        post_transfers(key=f"payout-paid-late:{payout.pk}", code="payout",
                       legs=_hold_legs(payout.user_id, payout.amount_minor),
                       memo=f"Payout {payout.pk} paid after its hold expired")
    except InsufficientFundsError:
        logger.error("payout %s was paid after its hold expired and the creator's earnings "
                     "no longer cover it: reconcile by hand", payout.pk)


def _open_review(review_id: int) -> tuple[RiskReview, PayoutRequest]:
    review = RiskReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None or review.state != RiskReview.State.OPEN:
        raise ConflictError("This review was already decided.", code="already_decided")
    payout = _locked(review.payout_id)
    assert payout is not None  # the review's row references it
    return review, payout


def _decided(review: RiskReview, state: str, *, actor: Actor, reason: str) -> None:
    review.state = state
    review.decided_by_id = actor.pk if actor is not None else None
    review.decided_at = timezone.now()
    review.reason = reason
    review.save(update_fields=["state", "decided_by", "decided_at", "reason"])


def payout_review_release(*, review_id: int, actor: Actor, reason: str,
                          ip: str | None = None) -> PayoutRequest:
    """Finance staff release a held payout: it goes to the provider."""
    with transaction.atomic():
        review, payout = _open_review(review_id)
        if hasattr(payout.hold, "resolution"):  # voided by the ledger's expiry task
            raise ConflictError("The payout's hold expired; the money is back in the "
                                "creator's balance. Refuse this review.", code="hold_expired")
        _decided(review, RiskReview.State.RELEASED, actor=actor, reason=reason)
        payout.state = PayoutRequest.State.PROCESSING
        payout.message = ""
        payout.save(update_fields=["state", "message", "updated_at"])
        record_audit(actor=actor, action="monetization.payout_release", target=payout,
                     reason=reason, ip=ip, review=str(review.pk))
        money = format_money(to_micros(payout.amount_minor, payout.currency), payout.currency)
        payout_notices.tell(user_id=payout.user_id, key=f"payout:{payout.pk}:released",
                            title=f"Your payout of {money} passed review",
                            body="It is on its way to your payout account.")
        _send_on_commit(payout)
        return payout


def payout_review_refuse(*, review_id: int, actor: Actor, reason: str,
                         ip: str | None = None) -> PayoutRequest:
    """Finance staff refuse a held payout: the hold is voided, the money returns to the
    creator's earnings, and the creator reads the reason."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Tell the creator why (the reason is what they read).",
                               code="reason_required")
    with transaction.atomic():
        review, payout = _open_review(review_id)
        if not hasattr(payout.hold, "resolution"):
            void_pending(key=f"payout-refused:{payout.pk}", pending=payout.hold,
                         memo=f"Payout {payout.pk} refused", created_by_id=actor.pk
                         if actor is not None and actor.is_authenticated else None)
        _decided(review, RiskReview.State.REFUSED, actor=actor, reason=reason)
        payout.state = PayoutRequest.State.REFUSED
        payout.message = f"{reason} The money is back in your balance."[:1000]
        payout.save(update_fields=["state", "message", "updated_at"])
        record_audit(actor=actor, action="monetization.payout_refuse", target=payout,
                     reason=reason, ip=ip, review=str(review.pk))
        money = format_money(to_micros(payout.amount_minor, payout.currency), payout.currency)
        payout_notices.tell(user_id=payout.user_id, key=f"payout:{payout.pk}:refused",
                            title=f"Your payout of {money} was not sent",
                            body=payout.message)
        return payout
