"""Shared by the ledger tests: accounts and money to move."""

from __future__ import annotations

import itertools

from apps.payments.models.ledger import LedgerAccount, TransferSet
from apps.payments.services.ledger import Leg, account_for, platform_account, post_transfers

Kind = LedgerAccount.Kind
_keys = itertools.count()


def key(prefix: str = "t") -> str:
    return f"{prefix}:{next(_keys)}:{id(_keys)}"


def wallet(user_id: int) -> LedgerAccount:
    return account_for(Kind.WALLET, owner_id=user_id, asset="COIN")


def earnings(user_id: int) -> LedgerAccount:
    return account_for(Kind.EARNINGS, owner_id=user_id, asset="USD")


def fund(user_id: int, coins: int) -> TransferSet:
    """Coins into a wallet, as a confirmed purchase would (issuance → wallet)."""
    return post_transfers(key=key("fund"), code="coin_purchase", legs=[
        Leg(platform_account(Kind.COIN_ISSUANCE, "COIN", user_id), wallet(user_id), coins)])


def gift_legs(sender_id: int, creator_id: int, coins: int, value_micros: int = 10_000,
              share_bps: int = 7000) -> list[Leg]:
    """The standard gift of monetization.md: coins out, the creator's share and the
    platform's rest of their value out of coin sales."""
    value = coins * value_micros
    share = value * share_bps // 10_000
    legs = [Leg(wallet(sender_id), platform_account(Kind.COIN_ISSUANCE, "COIN", sender_id),
                coins, "coins_spent"),
            Leg(platform_account(Kind.COIN_SALES, "USD", creator_id), earnings(creator_id),
                share, "creator_share")]
    if value - share:
        legs.append(Leg(platform_account(Kind.COIN_SALES, "USD", creator_id),
                        platform_account(Kind.PLATFORM_REVENUE, "USD", creator_id),
                        value - share, "platform_fee"))
    return legs


def fresh(account: LedgerAccount) -> LedgerAccount:
    return LedgerAccount.objects.get(pk=account.pk)
