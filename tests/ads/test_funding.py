"""Funding the prepaid balance: a top-up through the PaymentProvider contract (the local
test provider, its signed webhooks delivered as the Celery task does), credited once into
the org's `ad_balance` ledger account; declines told in words; refunds take it back."""

from __future__ import annotations

import pytest

from apps.ads.models import Membership, Topup
from apps.ads.services import funding
from apps.core.errors import ApplicationError, ForbiddenError
from apps.payments.models import LocalProviderEvent, Payment, TransferSet
from apps.payments.providers import local
from apps.payments.services import payments
from tests.ads.core_helpers import org_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_top_up_reaches_the_balance_once_when_the_provider_confirms() -> None:
    billing = UserFactory()
    org, _admin = org_with({"billing": billing})
    topup = funding.topup_start(user=billing, org=org, amount_minor=2_500,
                                payment_method="pm_card_ok")
    assert topup.status == Topup.Status.PROCESSING
    assert topup.payment_id
    assert funding.balance_micros(org) == 0  # nothing before the webhook
    assert local.deliver() == 1
    topup.refresh_from_db()
    assert topup.status == Topup.Status.SUCCEEDED
    assert topup.credited_at
    assert funding.balance_micros(org) == 25_000_000
    assert funding.balance_display(org) == "$25.00"
    LocalProviderEvent.objects.update(delivered_at=None)  # the provider retries
    local.deliver()
    assert funding.balance_micros(org) == 25_000_000
    assert TransferSet.objects.filter(code="ad_topup").count() == 1

    # A refund takes the money back out of the balance.
    payments.refund_payment(payment=Payment.objects.get(pk=topup.payment_id),
                            amount_minor=1_000, key="refund-1", reason="asked")
    local.deliver()
    assert funding.balance_micros(org) == 15_000_000


def test_a_declined_card_is_told_in_words_and_adds_nothing() -> None:
    org, admin = org_with()
    topup = funding.topup_start(user=admin, org=org, amount_minor=1_000,
                                payment_method="pm_card_declined")
    local.deliver()
    topup.refresh_from_db()
    assert (topup.status, topup.failure_reason) == ("failed", "Your card was declined.")
    assert funding.balance_micros(org) == 0


def test_only_admins_and_billing_fund_and_amounts_are_bounded() -> None:
    editor = UserFactory()
    org, admin = org_with({"editor": editor})
    with pytest.raises(ForbiddenError, match="Only admins and billing"):
        funding.topup_start(user=editor, org=org, amount_minor=1_000,
                            payment_method="pm_card_ok")
    for amount in (0, -500, 10.5, 499, 10**9):
        with pytest.raises(ApplicationError, match="Add between"):
            funding.topup_start(user=admin, org=org, amount_minor=amount,  # type: ignore[arg-type]
                                payment_method="pm_card_ok")
    assert not Topup.objects.exists()
    assert Membership.objects.filter(org=org).count() == 2
