"""eligibility.py, the one place for who may buy, send and receive coins: each rule's
refusal in words (minors, unknown age, standing, bans, deactivation, spending bars, self,
blocks either way)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.moderation.services import enforce
from apps.monetization import eligibility
from apps.monetization.models import SpendingBar
from tests.monetization.coin_helpers import adult
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db


def _years_old(years: int) -> date:
    return date.today() - timedelta(days=365 * years + 5)


def test_adults_in_good_standing_may_do_everything():
    sender, creator = adult(), adult()
    assert eligibility.may_buy_coins(sender) is None
    assert eligibility.may_receive_gifts(creator) is None
    assert eligibility.may_send_gift(sender, creator) is None


@pytest.mark.parametrize(("born", "code"), [(_years_old(17), "under_18"),
                                            (_years_old(13), "under_18"),
                                            (None, "age_unknown")])
def test_minors_and_unknown_ages_neither_buy_nor_send_nor_receive(born, code):  # type: ignore[no-untyped-def]
    person, other = adult(date_of_birth=born), adult()
    refusal = eligibility.may_buy_coins(person)
    assert refusal is not None
    assert refusal.code == code
    assert eligibility.may_send_gift(person, other).code == code  # type: ignore[union-attr]
    to_them = eligibility.may_send_gift(other, person)
    assert to_them is not None
    assert to_them.code == "recipient_cannot_receive"
    assert to_them.message == "This account can't receive gifts or tips."


def test_an_eighteenth_birthday_today_counts_as_adult():
    today = timezone.localdate()
    person = adult(date_of_birth=today.replace(year=today.year - 18)
                   if not (today.month == 2 and today.day == 29) else date(today.year - 18, 3, 1))
    assert eligibility.may_buy_coins(person) is None


def test_banned_suspended_and_deactivated_accounts_neither_spend_nor_receive():
    sender = adult()
    banned, suspended, gone = adult(), adult(), adult()
    enforce(action="ban", target_type="user", target_id=banned.pk, policy="violence_graphic",
            reason="test")
    banned.refresh_from_db()
    suspended.is_active = False
    suspended.save(update_fields=["is_active"])
    gone.deactivated_at = timezone.now()
    gone.save(update_fields=["deactivated_at"])
    for person in (banned, suspended, gone):
        refusal = eligibility.may_send_gift(sender, person)
        assert refusal is not None
        assert refusal.code == "recipient_cannot_receive"
        own = eligibility.may_buy_coins(person)
        assert own is not None
        assert own.code == "account_restricted"


def test_self_blocks_and_spending_bars():
    sender, creator = adult(), adult()
    assert eligibility.may_send_gift(sender, sender).code == "self_gift"  # type: ignore[union-attr]
    block = BlockFactory(blocker=sender, blocked=creator)
    assert eligibility.may_send_gift(sender, creator).code == "blocked"  # type: ignore[union-attr]
    block.delete()
    BlockFactory(blocker=creator, blocked=sender)
    theirs = eligibility.may_send_gift(sender, creator)
    assert theirs is not None
    assert theirs.code == "recipient_cannot_receive"  # their block is not named
    SpendingBar.objects.create(user=sender, reason="disputed")
    barred = eligibility.may_buy_coins(sender)
    assert barred is not None
    assert barred.code == "spending_barred"
    SpendingBar.objects.update(lifted_at=timezone.now())
    assert eligibility.may_buy_coins(sender) is None
