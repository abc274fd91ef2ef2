"""A deleted account's money: what its owner is told before, and what the purge does.

The rule (docs/architecture.md, "Payments and monetization", "Deleted accounts"):

- **Coins are forfeited** (the terms): the wallet's coins go back to coin issuance and their
  value, held as deferred revenue in coin sales, becomes platform revenue (breakage). One
  linked set `forfeit:<user id>`, code `coins_forfeited`, so the books still balance.
- **Unpaid earnings are not taken.** They are money the platform owes the creator: the
  whole available balance (above or below the payout minimum) moves to an
  `unclaimed_earnings` account kept under the creator's former id, one set
  `unclaimed:<user id>`, code `earnings_unclaimed`. Finance pays it out on a verified claim
  (or, where the law says so, hands it to the state as unclaimed property); it is never
  platform revenue.
- **A payout still with the provider (processing, or held for review) defers the purge**
  (`PurgeDeferred`): its hold must settle first, else a failure would return the money to
  an account nobody owns. So does a coin purchase waiting for the provider's confirmation
  (`processing`: its coins would reach a wallet after the forfeit). The purge tries again on
  its next run.
- KYC documents (identity papers) are deleted with the account, files included.

Everything runs inside the purge's transaction (accounts' removal hook): if anything fails,
the account is not purged and nothing moved. Running it again finds empty balances and posts
nothing (idempotent).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from apps.accounts.hooks import PurgeDeferred
from apps.accounts.storage import private_storage
from apps.monetization.models import CoinPurchase, KycDocument, PayoutRequest
from apps.monetization.services.clearing import release_all_of
from apps.monetization.services.gifts import (
    EARNINGS_ASSET,
    coin_value_micros,
    earnings_of,
    wallet_of,
)
from apps.monetization.velocity import lock_money_of
from apps.payments.models import LedgerAccount
from apps.payments.money import COIN, format_money, to_micros
from apps.payments.selectors import earnings_balance, earnings_clearing_balance, wallet_coins
from apps.payments.services.ledger import Leg, account_for, platform_account, post_transfers

_IN_FLIGHT = (PayoutRequest.State.PROCESSING, PayoutRequest.State.IN_REVIEW)


def unclaimed_of(user_id: int) -> LedgerAccount:
    return account_for(LedgerAccount.Kind.UNCLAIMED_EARNINGS, owner_id=user_id,
                       asset=EARNINGS_ASSET)


def deletion_notices(*, user_id: int) -> list[str]:
    """accounts' deletion-notice hook: what deleting this account does to its money, in
    words, before the person confirms it."""
    notices: list[str] = []
    coins = wallet_coins(user_id)
    earnings = earnings_balance(user_id, EARNINGS_ASSET)
    if coins > 0:
        notices.append(f"You have {coins:,} coin{'s' if coins != 1 else ''}. Coins are "
                       "lost when your account is deleted: spend them before then.")
    clearing = earnings_clearing_balance(user_id, EARNINGS_ASSET).balance
    if clearing > 0:
        notices.append(f"{format_money(clearing, EARNINGS_ASSET)} of your earnings is still "
                       "clearing. If the account is deleted, it is kept with your unpaid "
                       "earnings as unclaimed money.")
    if earnings.available > 0:
        money = format_money(earnings.available, EARNINGS_ASSET)
        minimum = to_micros(int(settings.SWIPEME_PAYOUT_MINIMUM_MINOR), EARNINGS_ASSET)
        if earnings.available >= minimum:
            advice = "Request a payout first (Settings → Payouts)."
        else:
            advice = (f"It is below the {format_money(minimum, EARNINGS_ASSET)} payout "
                      "minimum, so it cannot be paid out now.")
        notices.append(f"You have {money} of unpaid earnings. {advice} Earnings left "
                       "when the account is deleted are not lost: we keep them as "
                       "unclaimed money, and you can claim them from support.")
    if PayoutRequest.objects.filter(user_id=user_id, state__in=_IN_FLIGHT).exists():
        notices.append("A payout of yours is still under way: the account is deleted only "
                       "after it is settled.")
    if _purchase_in_flight(user_id):
        notices.append("A coin purchase of yours is still being confirmed: the account is "
                       "deleted only after it is, and its coins are lost with the others.")
    return notices


def _purchase_in_flight(user_id: int) -> bool:
    return CoinPurchase.objects.filter(user_id=user_id,
                                       status=CoinPurchase.Status.PROCESSING).exists()


def money_purge_user(*, user_id: int) -> None:
    """accounts' removal hook (inside the purge's transaction): forfeit the coins, keep the
    unpaid earnings as unclaimed, delete the KYC documents; defer while a payout is under
    way."""
    with transaction.atomic():
        lock_money_of(user_id)  # no gift, tip or payout of theirs in between
        if PayoutRequest.objects.filter(user_id=user_id, state__in=_IN_FLIGHT).exists():
            raise PurgeDeferred(f"user {user_id} has a payout under way")
        if _purchase_in_flight(user_id):
            raise PurgeDeferred(f"user {user_id} has a coin purchase being confirmed")
        coins = wallet_coins(user_id)
        if coins > 0:
            spread = user_id
            post_transfers(
                key=f"forfeit:{user_id}", code="coins_forfeited",
                legs=[Leg(wallet_of(user_id),
                          platform_account(LedgerAccount.Kind.COIN_ISSUANCE, COIN, spread),
                          coins, "coins_forfeited"),
                      Leg(platform_account(LedgerAccount.Kind.COIN_SALES, EARNINGS_ASSET,
                                           spread),
                          platform_account(LedgerAccount.Kind.PLATFORM_REVENUE,
                                           EARNINGS_ASSET, spread),
                          coin_value_micros(coins), "breakage")],
                memo=f"Coins of deleted account {user_id} forfeited")
        # Earnings still clearing are theirs too: released now (a dispute after the purge
        # finds nothing to take back from a deleted account either way) and kept as
        # unclaimed money with the rest.
        release_all_of(user_id, why=f"Earnings of deleted account {user_id}, released early")
        available = earnings_balance(user_id, EARNINGS_ASSET).available
        if available > 0:
            post_transfers(
                key=f"unclaimed:{user_id}", code="earnings_unclaimed",
                legs=[Leg(earnings_of(user_id), unclaimed_of(user_id), available,
                          "earnings_unclaimed")],
                memo=f"Unpaid earnings of deleted account {user_id}, kept until claimed")
        names = list(KycDocument.objects.filter(user_id=user_id).values_list("file", flat=True))
        KycDocument.objects.filter(user_id=user_id).delete()
        transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    storage = private_storage()
    for name in names:
        storage.delete(name)
