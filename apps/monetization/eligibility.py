"""Who may do what with money: THE one place for monetization's eligibility rules.

Every service (and page) that moves coins or money asks these before it does, and shows the
refusal's words. Each answers a `Refusal` (a stable code and the sentence the person reads)
or None for "yes"; `require(...)` turns a refusal into the API's error.

The rules (coins, gifts, tips):
- Money needs an adult: under 18 (`SWIPEME_ADULT_AGE`) nobody buys coins, sends gifts or
  tips, or receives them. An account with no date of birth is refused too (unlike the feed,
  where an unknown age counts as an adult): money is where we must know.
- A suspended, banned, deactivated or deleting account can neither spend nor receive.
- A chargeback bars the buyer from buying and spending coins until finance staff review it
  (`SpendingBar`, lifted in the admin).
- Nobody gifts or tips themselves; not across a block, either way.

Other engineers add their own rules below (subscriptions, payouts), in the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.moderation.selectors import account_block_for, has_active_severe_strike
from apps.monetization.models import KycProfile, SpendingBar, TaxForm
from apps.monetization.services.clearing import Clearing
from apps.payments.money import format_money, to_micros
from apps.social.models import Block, Follow


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int = 403


def require(refusal: Refusal | None) -> None:
    """Raise the refusal as the API's error (nothing is done when it is None)."""
    if refusal is not None:
        raise ApplicationError(refusal.message, code=refusal.code, status_code=refusal.status)


def _adult_refusal(user: User, *, self_words: bool) -> Refusal | None:
    age = user.age_on(timezone.localdate())
    if age is None:
        return (Refusal("age_unknown", "Add your date of birth in settings to use coins.")
                if self_words else
                Refusal("recipient_cannot_receive", "This account can't receive gifts or tips."))
    if age < settings.SWIPEME_ADULT_AGE:
        return (Refusal("under_18", "Coins, gifts and tips are for people 18 and over.")
                if self_words else
                Refusal("recipient_cannot_receive", "This account can't receive gifts or tips."))
    return None


def _in_good_standing(user: User) -> bool:
    return user.is_discoverable and account_block_for(user.pk) is None


def spending_barred(user: User) -> bool:
    return SpendingBar.objects.filter(user_id=user.pk, lifted_at__isnull=True).exists()


def may_use_coins(user: User) -> Refusal | None:
    """Buying and spending coins at all: an adult in good standing, not barred."""
    refusal = _adult_refusal(user, self_words=True)
    if refusal is not None:
        return refusal
    if not _in_good_standing(user):
        return Refusal("account_restricted", "Your account can't use coins right now.")
    if spending_barred(user):
        return Refusal("spending_barred",
                       "A payment of yours was disputed or refunded, so buying and sending "
                       "coins is paused until our team reviews it. Contact support.")
    return None


def may_buy_coins(user: User) -> Refusal | None:
    return may_use_coins(user)


def may_receive_gifts(user: User) -> Refusal | None:
    """Receiving gifts and tips: an adult in good standing (never a minor)."""
    refusal = _adult_refusal(user, self_words=False)
    if refusal is not None:
        return refusal
    if not _in_good_standing(user):
        return Refusal("recipient_cannot_receive", "This account can't receive gifts or tips "
                       "right now.")
    return None


def may_send_gift(sender: User, recipient: User) -> Refusal | None:
    """A gift or a tip from `sender` to `recipient` (posts, profiles and, later, lives)."""
    if sender.pk == recipient.pk:
        return Refusal("self_gift", "You can't send gifts or tips to yourself.", status=400)
    refusal = may_use_coins(sender)
    if refusal is not None:
        return refusal
    blockers = set(Block.objects.filter(blocker_id__in=[sender.pk, recipient.pk],
                                        blocked_id__in=[sender.pk, recipient.pk])
                   .values_list("blocker_id", flat=True))
    if sender.pk in blockers:
        return Refusal("blocked", "You blocked this account. Unblock it to send gifts or tips.")
    if recipient.pk in blockers:  # the recipient's block is not named to the sender
        return Refusal("recipient_cannot_receive", "This account can't receive gifts or tips.")
    return may_receive_gifts(recipient)


# --- payouts (services/payouts.py asks this before it holds any money) ---


def may_request_payout(user: User) -> Refusal | None:
    """Being paid out at all: an adult in good standing with no severe strike in force,
    identity verified (KYC) and a tax form on file. The amount's rules (the minimum, the
    balance) are `payout_amount_refusal`'s."""
    age = user.age_on(timezone.localdate())
    if age is None:
        return Refusal("age_unknown", "Add your date of birth in settings to get paid.")
    if age < settings.SWIPEME_ADULT_AGE:
        return Refusal("under_18", "Payouts are for people 18 and over.")
    if not _in_good_standing(user):
        return Refusal("account_restricted", "Your account can't receive payouts right now.")
    if has_active_severe_strike(user.pk):
        return Refusal("severe_strike", "Payouts are paused while a strike for a serious "
                       "violation is on your account. See your notices.")
    if not KycProfile.objects.filter(user_id=user.pk, state=KycProfile.State.VERIFIED).exists():
        return Refusal("kyc_required", "Verify your identity first: upload an identity "
                       "document and submit it for review.")
    if not TaxForm.objects.filter(user_id=user.pk, active=True).exists():
        return Refusal("tax_form_required", "Put a tax form on file first (a W-9, or a "
                       "W-8BEN if you are not a US person).")
    return None


def payout_amount_refusal(*, amount_minor: int, available_micros: int,
                          clearing: Clearing | None = None) -> Refusal | None:
    """The amount's rule: at least the minimum, at most what is available now. An amount
    that earnings still clearing would cover is refused with the day it can be asked for."""
    minimum = settings.SWIPEME_PAYOUT_MINIMUM_MINOR
    if amount_minor < minimum:
        smallest = format_money(to_micros(minimum, "USD"), "USD")
        return Refusal("below_minimum", f"The smallest payout is {smallest}.", status=400)
    wanted = to_micros(amount_minor, "USD")
    if wanted <= available_micros:
        return None
    available = format_money(max(available_micros, 0), "USD")
    day = clearing.payable_on(wanted - available_micros) if clearing is not None else None
    if clearing is not None and clearing.total_micros > 0:
        waiting = format_money(clearing.total_micros, "USD")
        if day is not None:
            now = (f" or ask for {available} now"
                   if available_micros >= to_micros(minimum, "USD") else "")
            return Refusal(
                "earnings_clearing",
                f"Only {available} is available now: {waiting} of your earnings is still "
                "clearing (new earnings wait a few days in case a payment is disputed). "
                f"You can ask for {format_money(wanted, 'USD')} from {day:%-d %B %Y}"
                f"{now}.", status=409)
        return Refusal("insufficient_funds",
                       f"That is more than your balance ({available} available now, "
                       f"{waiting} more still clearing).", status=409)
    return Refusal("insufficient_funds", f"That is more than your balance ({available}).",
                   status=409)


# --- subscriptions (services/subscriptions/ asks these before it charges) ---
# Paying for a subscription is buying, so it follows the coins' rules: 18+ (a known date of
# birth), good standing, no chargeback bar. A creator offers tiers and is paid under the
# gifts' rules for receiving money (an adult in good standing).


def may_offer_subscriptions(creator: User) -> Refusal | None:
    age = creator.age_on(timezone.localdate())
    if age is None:
        return Refusal("age_unknown", "Add your date of birth in settings to offer "
                       "subscriptions.")
    if age < settings.SWIPEME_ADULT_AGE:
        return Refusal("under_18", "Offering subscriptions is for people 18 and over.")
    if not _in_good_standing(creator):
        return Refusal("account_restricted", "Your account can't offer subscriptions right now.")
    return None


def may_subscribe(subscriber: User, creator: User) -> Refusal | None:
    """`subscriber` paying `creator` for a subscription (and each renewal)."""
    if subscriber.pk == creator.pk:
        return Refusal("self_subscribe", "You can't subscribe to yourself.", status=400)
    age = subscriber.age_on(timezone.localdate())
    if age is None:
        return Refusal("age_unknown", "Add your date of birth in settings to subscribe.")
    if age < settings.SWIPEME_ADULT_AGE:
        return Refusal("under_18", "Paid subscriptions are for people 18 and over.")
    if not _in_good_standing(subscriber):
        return Refusal("account_restricted", "Your account can't pay for subscriptions "
                       "right now.")
    if spending_barred(subscriber):
        return Refusal("spending_barred",
                       "A payment of yours was disputed or refunded, so new payments are "
                       "paused until our team reviews it. Contact support.")
    blockers = set(Block.objects.filter(blocker_id__in=[subscriber.pk, creator.pk],
                                        blocked_id__in=[subscriber.pk, creator.pk])
                   .values_list("blocker_id", flat=True))
    if subscriber.pk in blockers:
        return Refusal("blocked", "You blocked this account. Unblock it to subscribe.")
    if creator.pk in blockers:  # the creator's block is not named to the subscriber
        return Refusal("creator_cannot_be_subscribed",
                       "This account can't be subscribed to.", status=404)
    if may_offer_subscriptions(creator) is not None:
        return Refusal("creator_cannot_be_subscribed",
                       "This account can't be subscribed to right now.", status=409)
    if creator.is_private and not Follow.objects.filter(follower_id=subscriber.pk,
                                                        followee_id=creator.pk).exists():
        # a private account's posts (subscriber-only ones too) are for approved followers
        return Refusal("follow_first", "This account is private: follow it, and be "
                       "approved, before you subscribe.", status=409)
    return None
