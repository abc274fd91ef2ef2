"""Demo money for `make run`: wallets with coins, and gifts and tips so that creators'
earnings pages are not empty — all through the real path, never a balance written by hand.

- Coins: each of the first `BUYERS` demo users buys the `PACK_COINS` pack with the local
  provider's test card `pm_card_ok` (`monetization.services.coins.purchase_start`); the
  provider's signed `payment_intent.succeeded` webhook, delivered through payments' webhook
  processing (`payments.providers.local.deliver`, what its Celery task runs), credits the
  coins (ledger set `coin_purchase:<id>`). Nothing is credited without that event.
- Sends: each buyer sends a gift on a post of two of the `CREATORS` (or a tip on the
  profile when the creator has no post yet) and tips a third
  (`monetization.services.gifts.gift_send` / `tip_send`), so creators have earnings by
  source (gift, tip) and every buyer keeps coins in the wallet.
- Idempotent: every purchase and send carries a fixed Idempotency-Key (`seed-demo:...`);
  a re-run finds the first rows and moves nothing (no second charge, no second send).
- Only with the local provider (`SWIPEME_PAYMENT_PROVIDER=local`, `make run`'s default):
  with Stripe configured the demo buys nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.accounts.models import User
from apps.content.models import Post
from apps.monetization.models import CoinPack, CoinPurchase, Gift, GiftSend
from apps.monetization.services import coins as coin_services
from apps.monetization.services import gifts as gift_services
from apps.payments.providers import local
from apps.web.seed.catalogue import DEMO_USERS

BUYERS = 12  # the first demo users (maya first: the account the README logs in with)
CREATORS = ("maya", "leo", "sofia", "kenji", "amara", "noah")
PACK_COINS = 1400  # "Chest": $19.99
GIFT_NAMES = ("Trophy", "Rocket", "Ice cream", "Heart")  # 100, 500, 30, 5 coins
KEY = "seed-demo"


@dataclass
class MoneyReport:
    enabled: bool = True
    skipped_because: str = ""  # why not, when not enabled
    purchases_created: int = 0
    coins_credited: int = 0  # purchases that reached succeeded
    sends_created: int = 0


def demo_users() -> list[User]:
    """The demo accounts that exist, in the catalogue's order (maya first)."""
    found = {u.username: u for u in User.objects.filter(
        username__in=[row[0] for row in DEMO_USERS])}
    return [found[row[0]] for row in DEMO_USERS if row[0] in found]


def ensure_money(users: list[User]) -> MoneyReport:
    if settings.SWIPEME_PAYMENT_PROVIDER != "local":
        return MoneyReport(enabled=False,
                           skipped_because="only with the local payment provider")
    report = MoneyReport()
    pack = CoinPack.objects.filter(coins=PACK_COINS, active=True).order_by("pk").first()
    if pack is None:  # staff retired the pack: the demo has no coins to buy
        return MoneyReport(enabled=False,
                           skipped_because=f"no active {PACK_COINS}-coin pack on sale")
    buyers = users[:BUYERS]
    purchases = []
    for buyer in buyers:
        before = CoinPurchase.objects.filter(user=buyer, idempotency_key=f"{KEY}:coins").exists()
        purchases.append(coin_services.purchase_start(
            user=buyer, pack_id=pack.pk, payment_method="pm_card_ok", key=f"{KEY}:coins"))
        report.purchases_created += not before
    local.deliver()  # the provider's webhooks: the coins arrive only through them
    report.coins_credited = CoinPurchase.objects.filter(
        pk__in=[p.pk for p in purchases], status=CoinPurchase.Status.SUCCEEDED).count()
    by_name = {u.username: u for u in users}
    creators = [by_name[name] for name in CREATORS if name in by_name]
    gifts = {g.name: g for g in Gift.objects.filter(name__in=GIFT_NAMES, active=True)}
    for i, buyer in enumerate(buyers):
        if not _has_coins(buyer):
            continue  # its purchase did not go through (yet): nothing to send
        others = [c for c in creators if c.pk != buyer.pk]
        if not others:
            continue
        for j in range(2):
            creator = others[(i + j) % len(others)]
            key = f"{KEY}:gift:{creator.username}"
            if _sent(buyer, key):
                continue
            gift = gifts.get(GIFT_NAMES[(i + j) % len(GIFT_NAMES)])
            post = Post.objects.filter(author=creator).order_by("pk").first()
            if gift is not None and post is not None:
                gift_services.gift_send(sender=buyer, gift_id=gift.pk, post=post, key=key)
            else:  # no post yet (--posts 0): a tip on the profile instead
                gift_services.tip_send(sender=buyer, recipient=creator, coins=25 * (j + 1),
                                       key=key)
            report.sends_created += 1
        tipped = others[(i + 2) % len(others)]
        key = f"{KEY}:tip:{tipped.username}"
        if not _sent(buyer, key):
            gift_services.tip_send(sender=buyer, recipient=tipped, coins=50 + 25 * i, key=key)
            report.sends_created += 1
    return report


def _sent(sender: User, key: str) -> bool:
    """Sent on an earlier run (whatever it was then: a gift, or a tip before posts)."""
    return GiftSend.objects.filter(sender=sender, idempotency_key=key).exists()


def _has_coins(user: User) -> bool:
    return CoinPurchase.objects.filter(user=user, idempotency_key=f"{KEY}:coins",
                                       status=CoinPurchase.Status.SUCCEEDED).exists()
