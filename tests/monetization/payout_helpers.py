"""Shared by the payouts, KYC and fraud tests: a creator who may be paid (adult, identity
verified, tax form on file) and earnings made the real way (coins bought through the local
provider, then tipped through the tips service)."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import User
from apps.monetization.models import KycProfile, PayoutRequest
from apps.monetization.services import payouts, tax
from apps.monetization.services.gifts import earnings_of, tip_send
from apps.payments.models import LedgerAccount
from apps.payments.providers import local
from tests.monetization.coin_helpers import adult, buy, clear_all
from tests.monetization.test_tax_forms import W9


def payable_creator(**kwargs: Any) -> User:
    creator = adult(**kwargs)
    KycProfile.objects.create(user=creator, state=KycProfile.State.VERIFIED,
                              legal_name="Maya Lopez", country="US")
    tax.tax_form_submit(user=creator, kind="w9", data=W9)
    return creator


def tipped(creator: User, *, fan: User | None = None, coins: int = 1400,
           cleared: bool = True) -> User:
    """`fan` (a new adult by default) buys a pack and tips it all to the creator (tips
    share 80%: 1,400 coins = $14.00 gross = $11.20 earned). `cleared`: the clearing task
    then runs as if the clearing period had passed, so the earnings are payable."""
    fan = fan or adult()
    buy(fan, coins=coins)
    tip_send(sender=fan, recipient=creator, coins=coins)
    if cleared:
        clear_all()
    return fan


def earnings_account(user: User) -> LedgerAccount:
    return earnings_of(user.pk)  # read afresh (created empty on first use)


def settle(payout: PayoutRequest) -> PayoutRequest:
    """What the send task and the provider's webhook task do, run here."""
    payouts.payout_send(payout.pk)
    local.deliver()
    payout.refresh_from_db()
    return payout
