"""Funding an org's prepaid balance through the payments ledger.

`topup_start` starts a payment through the PaymentProvider contract
(`payments.services.payments.start_payment`, purpose and key `ads_topup:<id>`, charged to
the member who pays); the provider's verified webhook reaches `on_payment_event`
(payments' `payment_event` hook, in the webhook's transaction) which, on success, posts
one transfer set (key = the purpose, so once): provider clearing → the org's
`ad_balance` account, in micros of the org's currency. A refund takes back from the
balance what is still there (spent money is not un-spent: the rest is logged for
finance). Billing (measurement) spends from the same account."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.models import AdvertiserOrg, Topup
from apps.ads.models.funding import PURPOSE_PREFIX
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError
from apps.core.ids import parse_id
from apps.payments.hooks import PaymentEvent
from apps.payments.models import LedgerAccount
from apps.payments.money import format_money, to_micros
from apps.payments.providers.base import PaymentRefusedError
from apps.payments.selectors import account_balance
from apps.payments.services.ledger import (
    InsufficientFundsError,
    Leg,
    account_for,
    platform_account,
    post_transfers,
)
from apps.payments.services.payments import start_payment

logger = logging.getLogger(__name__)
_S = Topup.Status


def balance_account(org: AdvertiserOrg) -> LedgerAccount:
    if org.balance_account_id is not None and org.balance_account is not None:
        return org.balance_account
    account = account_for(LedgerAccount.Kind.AD_BALANCE, owner_id=org.pk, asset=org.currency)
    AdvertiserOrg.objects.filter(pk=org.pk, balance_account__isnull=True).update(
        balance_account=account
    )
    org.balance_account = account
    return account


def balance_micros(org: AdvertiserOrg) -> int:
    """What the org may still spend (posted balance less holds), in micros."""
    account = balance_account(org)
    account.refresh_from_db()
    return account_balance(account).available


def balance_display(org: AdvertiserOrg) -> str:
    return format_money(balance_micros(org), org.currency)


def topup_start(
    *,
    user: object,
    org: AdvertiserOrg,
    amount_minor: int,
    payment_method: str = "",
    return_url: str = "",
) -> Topup:
    """Start adding `amount_minor` (cents) to the balance. The answer is `requires_action`
    (approve at `next_action_url`) or `processing`; the money arrives with the provider's
    confirmation."""
    require(user, org.pk, Action.BILLING)
    low, high = conf("SWIPEME_ADS_TOPUP_MIN_MINOR"), conf("SWIPEME_ADS_TOPUP_MAX_MINOR")
    if type(amount_minor) is not int or not low <= amount_minor <= high:
        raise ApplicationError(
            f"Add between {format_money(to_micros(low, org.currency), org.currency)} and "
            f"{format_money(to_micros(high, org.currency), org.currency)}.",
            code="invalid_amount",
            fields={"amount_minor": ["Out of range."]},
        )
    topup = Topup.objects.create(
        org=org,
        created_by_id=getattr(user, "pk", None),
        amount_minor=amount_minor,
        currency=org.currency,
    )
    try:
        payment = start_payment(
            user_id=int(getattr(user, "pk", 0)),
            amount_minor=amount_minor,
            currency=org.currency,
            purpose=topup.purpose,
            key=topup.purpose,
            payment_method=payment_method or None,
            return_url=return_url.replace("{id}", str(topup.pk)),
        )
    except PaymentRefusedError as refused:
        Topup.objects.filter(pk=topup.pk, status=_S.STARTED).update(
            status=_S.FAILED, failure_reason=refused.message[:300], updated_at=timezone.now()
        )
        raise
    except Exception:
        Topup.objects.filter(pk=topup.pk, status=_S.STARTED).update(
            status=_S.FAILED,
            failure_reason="The payment could not be started; try again.",
            updated_at=timezone.now(),
        )
        raise
    # A webhook may have settled it already (the local provider delivers after commit):
    # only a topup still `started` moves on.
    Topup.objects.filter(pk=topup.pk, status=_S.STARTED).update(
        payment_id=payment.pk,
        status=_S.REQUIRES_ACTION if payment.status == "requires_action" else _S.PROCESSING,
        next_action_url=payment.next_action_url[:1000],
        updated_at=timezone.now(),
    )
    Topup.objects.filter(pk=topup.pk, payment_id__isnull=True).update(payment_id=payment.pk)
    topup.refresh_from_db()
    return topup


def _credit(topup: Topup) -> None:
    org = topup.org
    amount = to_micros(topup.amount_minor, topup.currency)
    clearing = platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, topup.currency, org.pk)
    post_transfers(
        key=topup.purpose,
        code="ad_topup",
        legs=[Leg(clearing, balance_account(org), amount, "ad_topup")],
        metadata={"topup": str(topup.pk), "org": str(org.pk), "payment": str(topup.payment_id)},
    )


def _take_back(topup: Topup, increment_minor: int, key: str) -> None:
    """A refund: take back what the balance still holds, up to the refund."""
    org = topup.org
    account = balance_account(org)
    wanted = to_micros(increment_minor, topup.currency)
    available = max(0, account_balance(LedgerAccount.objects.get(pk=account.pk)).available)
    amount = min(wanted, available)
    if amount < wanted:
        logger.error(
            "ads top-up %s refunded %s micros but the balance holds only %s",
            topup.pk,
            wanted,
            available,
        )
    if amount <= 0:
        return
    clearing = platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, topup.currency, org.pk)
    try:
        with transaction.atomic():
            post_transfers(
                key=key,
                code="ad_topup_refund",
                legs=[Leg(account, clearing, amount, "ad_topup_refund")],
                metadata={"topup": str(topup.pk), "org": str(org.pk)},
            )
    except InsufficientFundsError:
        logger.error("ads top-up %s refund: balance spent meanwhile", topup.pk)


def on_payment_event(*, event: PaymentEvent) -> None:
    """payments' `payment_event` hook: runs in the webhook's transaction, once per provider
    event. Only ads top-ups are ours. Never raises for a purpose it cannot place (that
    would have the event delivered again forever): logs it."""
    if not event.purpose.startswith(PURPOSE_PREFIX):
        return
    topup_id = parse_id(event.purpose.removeprefix(PURPOSE_PREFIX))
    topup = (
        # of=("self",): the joined org row is read, not locked (an org lock taken elsewhere
        # first must not queue behind a webhook)
        Topup.objects.select_for_update(of=("self",))
        .select_related("org")
        .filter(pk=topup_id)
        .first()
        if topup_id is not None
        else None
    )
    if topup is None or topup.created_by_id != event.user_id:
        logger.error("payment event %s for unknown ads top-up %s", event.kind, topup_id)
        return
    topup.payment_id = event.payment_id
    fields = ["payment_id", "status", "updated_at"]
    match event.kind:
        case "succeeded":
            if topup.credited_at is None:
                _credit(topup)
                topup.credited_at = timezone.now()
                fields.append("credited_at")
            if topup.status != _S.REFUNDED:
                topup.status = _S.SUCCEEDED
        case "failed":
            if topup.credited_at is None:
                topup.status = _S.FAILED
                topup.failure_reason = (event.reason or "The payment failed.")[:300]
                fields.append("failure_reason")
        case "refunded" | "disputed":
            total = event.amount_refunded_minor or topup.amount_minor
            increment = event.refund_amount_minor or (total - topup.refunded_minor)
            if topup.credited_at is not None and increment > 0:
                _take_back(topup, increment, f"{topup.purpose}:{event.kind}:{total}")
            topup.refunded_minor = max(topup.refunded_minor, total)
            fields.append("refunded_minor")
            if topup.refunded_minor >= topup.amount_minor:
                topup.status = _S.REFUNDED
        case _:
            pass
    topup.save(update_fields=fields)
