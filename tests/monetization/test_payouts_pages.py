"""The payouts and earnings pages without a browser: the payout form's dollar amount is
strict (cents at most, positive, a number) and refused on the field in words with nothing
held; a refused service call shows its words; signed out, both pages ask to log in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.monetization.models import PayoutRequest
from tests.monetization.payout_helpers import earnings_account, payable_creator, tipped

pytestmark = pytest.mark.django_db(transaction=True)


def test_payout_form_amounts_and_refusals_in_words(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    web = Client()
    web.force_login(creator)
    page = web.get("/settings/payouts")
    assert page.status_code == 200
    assert b'data-payout-available>$11.20<' in page.content
    for amount, words in (("ten", "An amount in dollars"), ("10.005", "dollars and cents"),
                          ("-5", "dollars and cents"), ("NaN", "dollars and cents")):
        answer = web.post("/settings/payouts", {"action": "payout", "amount": amount,
                                                "destination": "acct_1"})
        assert answer.status_code == 400
        assert words in answer.content.decode(), amount
    answer = web.post("/settings/payouts", {"action": "payout", "amount": "$11.21",
                                            "destination": "acct_1"})
    assert "That is more than your balance ($11.20)." in answer.content.decode()
    assert earnings_account(creator).debits_pending == 0
    done = web.post("/settings/payouts", {"action": "payout", "amount": "11.20",
                                          "destination": "acct_1"}, follow=True)
    assert "Payout of $11.20 requested: on its way." in done.content.decode()
    assert PayoutRequest.objects.get().amount_minor == 1120
    earnings = web.get("/studio/earnings?period=1y")  # an unknown period: the default
    assert earnings.context["period"] == "28d"
    assert b'data-stat="pending">$11.20<' in earnings.content

    anonymous = Client()
    for url in ("/settings/payouts", "/studio/earnings"):
        assert anonymous.get(url).status_code == 302
