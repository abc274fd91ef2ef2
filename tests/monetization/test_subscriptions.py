"""Subscriptions, end to end against the real database and the local provider: a
subscription starts only on the provider's confirmation (its signed webhook, delivered as
the provider's Celery task would), books the design's ledger legs, renews by the beat task
(a period charged once however often the task runs), survives failed renewals through
retries and a grace period (access kept), then expires (membership ended); cancellation
keeps access to the end of the paid month. Time moves through `now=`: nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.monetization import subscription_notices, subscription_selectors
from apps.monetization.models import Subscription, SubscriptionCharge, SubscriptionTier
from apps.monetization.services import subscriptions as services
from apps.notifications.models import Notification
from apps.payments.models import LedgerAccount, Payment
from apps.payments.providers import local
from apps.social.models import Membership
from tests.content.factories import PostFactory
from tests.monetization.coin_helpers import adult

Kind = LedgerAccount.Kind
PRICE = 499  # $4.99 a month
SHARE = 7000  # the subscription revenue share's default (services/gifts.DEFAULT_SHARES)


def tier_of(creator: User, price: int = PRICE) -> SubscriptionTier:
    return services.tier_create(creator=creator, name="Backstage", price_minor=price,
                                perks="Monthly Q&A")


def subscribed(fan: User, tier: SubscriptionTier, card: str = "pm_card_ok",
               key: str = "k1") -> Subscription:
    subscription, _ = services.subscribe(subscriber=fan, tier_id=tier.pk, payment_method=card,
                                         key=f"{fan.pk}:{key}")
    local.deliver()  # the provider's webhooks, as its Celery task delivers them
    return Subscription.objects.get(pk=subscription.pk)


def earnings(creator: User) -> int:
    """The creator's unpaid earnings: payable and still clearing."""
    return sum(a.balance for a in LedgerAccount.objects.filter(
        kind__in=[Kind.EARNINGS, Kind.EARNINGS_CLEARING], owner_id=creator.pk, asset="USD"))


def sees(viewer: User, post: Post) -> bool:
    return content_selectors.visible_posts_for(viewer=viewer).filter(pk=post.pk).exists()


def renew(at: object) -> dict[str, int]:
    done = services.renew_subscriptions(now=at)  # type: ignore[arg-type]
    local.deliver()
    return done


def fresh(subscription: Subscription) -> Subscription:
    return Subscription.objects.get(pk=subscription.pk)


@pytest.mark.django_db(transaction=True)
def test_a_subscription_lives_renews_once_per_period_and_ends_when_cancelled():
    creator, fan = adult(username="painter"), adult()
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    tier = tier_of(creator)

    started, payment = services.subscribe(subscriber=fan, tier_id=tier.pk,
                                          payment_method="pm_card_ok", key="start-1")
    # asked, not yet confirmed: nothing granted, nothing booked
    assert (started.status, payment.status) == ("incomplete", Payment.Status.PROCESSING)
    assert not sees(fan, post)
    assert earnings(creator) == 0

    local.deliver()
    subscription = fresh(started)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.periods_paid == 1
    assert subscription.anchor is not None
    assert subscription.current_period_end == services.period_end(subscription.anchor, 1)
    assert sees(fan, post)
    membership = Membership.objects.get(member=fan, creator=creator)
    assert membership.until == subscription.current_period_end + services.GRACE
    assert earnings(creator) == PRICE * 10_000 * SHARE // 10_000  # micros: 70% of $4.99
    # the same webhook again (a provider retry) books nothing more
    local.deliver()
    assert earnings(creator) == PRICE * 10_000 * SHARE // 10_000

    end = subscription.current_period_end
    assert end is not None
    assert renew(end - timedelta(minutes=1))["charged"] == 0  # not due yet
    assert renew(end + timedelta(minutes=1))["charged"] == 1
    assert renew(end + timedelta(minutes=2))["charged"] == 0  # the task again: no new charge
    subscription = fresh(subscription)
    assert subscription.periods_paid == 2
    assert subscription.anchor is not None
    assert subscription.current_period_end == services.period_end(subscription.anchor, 2)
    charges = SubscriptionCharge.objects.filter(subscription=subscription)
    assert sorted(charges.values_list("period", "attempt", "status")) == [
        (1, 0, "succeeded"), (2, 0, "succeeded")]
    assert Payment.objects.filter(user_id=fan.pk).count() == 2
    assert earnings(creator) == 2 * PRICE * 10_000 * SHARE // 10_000

    cancelled = services.cancel(subscriber=fan, subscription_id=subscription.pk)
    assert cancelled.cancel_at_period_end
    assert Membership.objects.get(member=fan, creator=creator).until == \
        cancelled.current_period_end  # access to the end of the paid month, no grace
    assert "Cancelled: your access ends on" in subscription_selectors.status_words(cancelled)
    end = cancelled.current_period_end
    assert end is not None
    done = renew(end + timedelta(minutes=1))
    assert (done["charged"], done["ended"]) == (0, 1)
    assert fresh(subscription).status == Subscription.Status.CANCELLED
    assert not Membership.objects.filter(member=fan, creator=creator).exists()
    assert not sees(fan, post)
    assert Payment.objects.filter(user_id=fan.pk).count() == 2  # never charged again


@pytest.mark.django_db(transaction=True)
def test_failed_renewals_retry_keep_access_in_grace_then_expire():
    creator, fan = adult(), adult()
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    subscription = subscribed(fan, tier_of(creator))
    # the saved card stops working (as if it expired)
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_card_declined")
    end = subscription.current_period_end
    assert end is not None

    renew(end + timedelta(minutes=1))
    subscription = fresh(subscription)
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.retry_count == 1
    assert subscription.next_retry_at == end + timedelta(days=1)
    assert subscription.grace_until == end + services.GRACE
    assert subscription.last_failure == "Your card was declined."
    assert Membership.objects.get(member=fan, creator=creator).until == end + services.GRACE
    assert sees(fan, post)  # past due: access kept during the grace
    assert "We'll try again on" in subscription_selectors.status_words(subscription)

    for day, retries in ((1, 2), (3, 3), (5, 4)):
        renew(end + timedelta(days=day, minutes=1))
        renew(end + timedelta(days=day, minutes=2))  # twice: charged once
        assert fresh(subscription).retry_count == retries
    subscription = fresh(subscription)
    assert subscription.next_retry_at is None  # no more tries
    attempts = list(SubscriptionCharge.objects.filter(subscription=subscription, period=2)
                    .order_by("attempt").values_list("attempt", "status"))
    assert attempts == [(0, "failed"), (1, "failed"), (2, "failed"), (3, "failed")]
    assert sees(fan, post)

    assert renew(end + timedelta(days=6))["expired"] == 0  # still in grace
    assert renew(end + services.GRACE + timedelta(minutes=1))["expired"] == 1
    subscription = fresh(subscription)
    assert subscription.status == Subscription.Status.EXPIRED
    assert not Membership.objects.filter(member=fan, creator=creator).exists()
    assert not sees(fan, post)
    assert earnings(creator) == PRICE * 10_000 * SHARE // 10_000  # only the first month


@pytest.mark.django_db
def test_a_retry_that_goes_through_restores_the_subscription():
    creator, fan = adult(), adult()
    subscription = subscribed(fan, tier_of(creator))
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_card_declined")
    end = subscription.current_period_end
    assert end is not None
    renew(end + timedelta(minutes=1))
    assert fresh(subscription).status == Subscription.Status.PAST_DUE
    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_card_ok")
    renew(end + timedelta(days=1, minutes=1))
    subscription = fresh(subscription)
    assert (subscription.status, subscription.periods_paid, subscription.retry_count) == (
        Subscription.Status.ACTIVE, 2, 0)
    assert subscription.grace_until is None
    assert subscription.current_period_end is not None
    assert Membership.objects.get(member=fan, creator=creator).until == \
        subscription.current_period_end + services.GRACE


@pytest.mark.django_db
def test_a_declined_first_payment_starts_nothing_and_a_new_try_may_follow():
    creator, fan = adult(), adult()
    tier = tier_of(creator)
    failed = subscribed(fan, tier, card="pm_card_declined")
    assert failed.status == Subscription.Status.EXPIRED
    assert failed.last_failure == "Your card was declined."
    assert not Membership.objects.filter(member=fan).exists()
    assert earnings(creator) == 0
    words = subscription_notices.billing_words(failed, "first_payment_failed")
    assert words[0] == f"Your subscription to @{creator.username} didn't start"
    assert "Your card was declined." in words[1]

    again = subscribed(fan, tier, key="k2")
    assert again.status == Subscription.Status.ACTIVE


@pytest.mark.django_db
def test_a_3ds_card_waits_for_the_payers_approval():
    creator, fan = adult(), adult()
    subscription, payment = services.subscribe(subscriber=fan, tier_id=tier_of(creator).pk,
                                               payment_method="pm_card_3ds", key="3ds")
    assert payment.status == Payment.Status.REQUIRES_ACTION
    assert payment.next_action_url.startswith("/payments/local/approve/")
    local.deliver()
    assert fresh(subscription).status == Subscription.Status.INCOMPLETE
    # a second subscribe while the first payment waits: refused in words
    with pytest.raises(Exception, match="already subscribe"):
        services.subscribe(subscriber=fan, tier_id=subscription.tier_id,
                           payment_method="pm_card_ok", key="3ds-again")


@pytest.mark.django_db
def test_notices_tell_the_creator_and_the_subscriber_in_words():
    creator, fan = adult(username="sculptor"), adult(username="collector")
    subscription = subscribed(fan, tier_of(creator))
    assert subscription_notices.notify(subscription.pk, "new_subscriber", 1, 0) == 1
    assert subscription_notices.notify(subscription.pk, "new_subscriber", 1, 0) == 0  # once
    told = Notification.objects.get(recipient=creator, type="new_subscriber")
    assert told.data == {"tier": "Backstage", "price": "$4.99/month"}

    Subscription.objects.filter(pk=subscription.pk).update(payment_method="pm_card_declined")
    end = subscription.current_period_end
    assert end is not None
    renew(end + timedelta(minutes=1))
    assert subscription_notices.notify(subscription.pk, "renewal_failed", 1, 1) == 1
    billing = Notification.objects.get(recipient=fan, type="subscription_billing")
    assert billing.data["title"] == "We couldn't renew your subscription to @sculptor"
    assert "Your card was declined. We'll try again on" in billing.data["body"]
    assert "you keep access until" in billing.data["body"]

    services.cancel(subscriber=fan, subscription_id=subscription.pk)  # past due: ends now
    ended = fresh(subscription)
    assert ended.status == Subscription.Status.CANCELLED
    assert not Membership.objects.filter(member=fan, creator=creator).exists()


@pytest.mark.django_db
def test_expiring_soon_is_told_to_a_subscriber_who_cancelled():
    creator, fan = adult(username="weaver"), adult()
    subscription = subscribed(fan, tier_of(creator))
    services.cancel(subscriber=fan, subscription_id=subscription.pk)
    end = subscription.current_period_end
    assert end is not None
    assert services.renew_subscriptions(now=end - timedelta(days=4))["warned"] == 0
    assert services.renew_subscriptions(now=end - timedelta(days=2))["warned"] == 1
    title, body = subscription_notices.billing_words(fresh(subscription), "expiring")
    assert title == "Your subscription to @weaver ends soon"
    assert "Resume it" in body
    resumed = services.resume(subscriber=fan, subscription_id=subscription.pk)
    assert not resumed.cancel_at_period_end
    assert Membership.objects.get(member=fan, creator=creator).until == end + services.GRACE


@pytest.mark.django_db(transaction=True)
def test_a_block_stops_renewal_and_hides_the_posts():
    from apps.social import services as social_services

    creator, fan = adult(), adult()
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    tier = tier_of(creator)
    subscription = subscribed(fan, tier)
    # a new price is for newcomers: the subscriber keeps theirs
    services.tier_update(creator=creator, tier_id=tier.pk, price_minor=999)
    assert fresh(subscription).price_minor == PRICE
    social_services.block_create(blocker=creator, blocked=fan)
    subscription = fresh(subscription)
    assert subscription.cancel_at_period_end
    assert not sees(fan, post)
    end = subscription.current_period_end
    assert end is not None
    renew(end + timedelta(minutes=1))
    assert fresh(subscription).status == Subscription.Status.CANCELLED
    assert Payment.objects.filter(user_id=fan.pk).count() == 1


def test_periods_are_calendar_months_that_do_not_drift():
    anchor = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert [services.period_end(anchor, n).date().isoformat() for n in (1, 2, 13)] == [
        "2027-02-28", "2027-03-31", "2028-02-29"]


@pytest.mark.django_db(transaction=True)
def test_refunds_and_disputes_take_the_creators_share_back_and_a_won_dispute_returns_it():
    """A refunded or disputed subscription payment takes back what it booked, in the same
    proportions (never more than the charge, across a refund and a dispute); what the
    creator no longer has after a dispute, they owe; a won dispute returns what it took."""
    from apps.payments.services.payments import (
        local_close_dispute,
        local_open_dispute,
        refund_payment,
    )
    from tests.monetization.coin_helpers import assert_books_balance, platform_total

    creator, fan = adult(), adult()
    subscription = subscribed(fan, tier_of(creator))
    charge = SubscriptionCharge.objects.get(subscription=subscription)
    assert charge.payment_id is not None
    payment = Payment.objects.get(pk=charge.payment_id)
    share = 4_990_000 * SHARE // 10_000  # $4.99 in micro-units, the creator's 70 %
    assert earnings(creator) == share

    refund_payment(payment=payment, amount_minor=100, key="sub-refund-1", reason="asked")
    local.deliver()
    assert earnings(creator) == share - 1_000_000 * SHARE // 10_000  # $1.00 of it back
    assert fresh(subscription).status == Subscription.Status.EXPIRED
    assert_books_balance()

    # the share clears, the creator is paid out meanwhile (their earnings spent): the
    # dispute of the rest takes what is left and the creator owes the difference
    from apps.payments.services import ledger
    from tests.monetization.coin_helpers import clear_all
    assert clear_all() == 1
    account = LedgerAccount.objects.get(kind=Kind.EARNINGS, owner_id=creator.pk, asset="USD")
    ledger.post_transfers(key="paid-out", code="payout", legs=[ledger.Leg(
        account, ledger.platform_account(Kind.PAYOUTS_PAYABLE, "USD", creator.pk),
        earnings(creator) - 500_000)])
    local_open_dispute(payment=Payment.objects.get(pk=payment.pk))
    local.deliver()
    assert earnings(creator) == 0
    owed = LedgerAccount.objects.get(kind=Kind.EARNINGS_OWED, owner_id=creator.pk, asset="USD")
    assert -owed.balance == 3_990_000 * SHARE // 10_000 - 500_000  # owed: not a loss
    assert platform_total(Kind.CHARGEBACKS) == 0
    assert Notification.objects.filter(recipient_id=creator.pk, type="payouts",
                                       data__title__startswith="You owe").count() == 1
    assert_books_balance()

    local_close_dispute(payment=Payment.objects.get(pk=payment.pk), won=True)
    local.deliver()
    assert earnings(creator) == 500_000  # what the dispute took comes back
    owed.refresh_from_db()
    assert owed.balance == 0  # and the debt is cancelled
    assert platform_total(Kind.CHARGEBACKS) == 0
    assert_books_balance()
