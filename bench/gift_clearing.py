"""Issue 17, the clearing period: what it adds to a gift or tip, measured in one run.

A tip through the real service (`monetization.services.gifts.tip_send`: eligibility,
velocity under the sender's advisory lock, the row, the ledger set) with the tips' clearing
period at 7 days (the share credited to the creator's clearing account, plus its
`EarningsClearing` row) against 0 days (the share credited to earnings at once: the path
before the clearing period), interleaved pass by pass in one process on one database (the
order alternates), so load drifts hit both. Then the deferred cost: the release task
(`clearing.release_due`) over the rows the 7-day passes made, per row.

    flock /tmp/bench.lock .venv/bin/python bench/gift_clearing.py --passes 5 --sends 200

A dedicated database (`--database-url`, default `bench_gift_clearing`; its name must contain
"bench"), migrated (kept with --reuse). Prints the load before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_gift_clearing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--sends", type=int, default=200, help="tips per variant per pass")
    parser.add_argument("--people", type=int, default=20, help="senders and creators each")
    parser.add_argument("--reuse", action="store_true", help="keep the migrated database")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    args = parser.parse_args()

    from ledger import django_setup
    from search_speed import ensure_database

    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DATABASE_URL=args.database_url,
               DJANGO_DEBUG="0", DJANGO_LOG_LEVEL="WARNING")
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    ensure_database(args.database_url, recreate=not args.reuse, env=env)
    django_setup(args.database_url)

    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.monetization.models import EarningsClearing, RevenueShare
    from apps.monetization.services.clearing import release_due
    from apps.monetization.services.gifts import tip_send, wallet_of
    from apps.payments.models import LedgerAccount
    from apps.payments.services.ledger import Leg, platform_account, post_transfers

    settings.SWIPEME_MONETIZATION_LIMITS = {"coins_given_per_hour": 10**9,
                                            "coins_given_per_day": 10**9}
    tag = str(int(time.time()))
    old = timezone.now() - timedelta(days=400)

    def person(name: str) -> User:
        user = User.objects.create(username=f"{name}_{tag}", email=f"{name}_{tag}@bench.test",
                                   date_of_birth=date(1990, 1, 1), date_joined=old)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    senders = [person(f"s{i}") for i in range(args.people)]
    creators = [person(f"c{i}") for i in range(args.people)]
    coins = args.passes * args.sends * 3
    for sender in senders:  # funded as a purchase would (issuance -> wallet)
        post_transfers(key=f"bench-fund:{sender.pk}", code="coin_purchase", legs=[Leg(
            platform_account(LedgerAccount.Kind.COIN_ISSUANCE, "COIN", sender.pk),
            wallet_of(sender.pk), coins)])

    def set_days(days: int) -> None:
        RevenueShare.objects.update_or_create(
            source="tip", defaults={"creator_bps": 8000, "clearing_days": days})

    def one_pass(days: int) -> float:
        set_days(days)
        start = time.perf_counter()
        for i in range(args.sends):
            tip_send(sender=senders[i % len(senders)],
                     recipient=creators[(i * 7 + 1) % len(creators)], coins=3)
        return float((time.perf_counter() - start) * 1000 / args.sends)

    one_pass(7)
    one_pass(0)  # warm-up of both paths (not counted)
    per: dict[int, list[float]] = {7: [], 0: []}
    for n in range(args.passes):
        for days in ((7, 0) if n % 2 == 0 else (0, 7)):
            per[days].append(one_pass(days))
        print(f"  pass {n + 1}: clearing 7 d {per[7][-1]:.2f} ms/tip, "
              f"0 d (payable at once) {per[0][-1]:.2f} ms/tip", flush=True)
    with_clearing, without = statistics.median(per[7]), statistics.median(per[0])
    print(f"median ms per tip: clearing 7 d {with_clearing:.2f}, 0 d {without:.2f}; "
          f"ratio {with_clearing / without:.3f}", flush=True)
    rows = EarningsClearing.objects.filter(released_at__isnull=True).count()
    start = time.perf_counter()
    released = release_due(now=timezone.now() + timedelta(days=8))
    seconds = time.perf_counter() - start
    print(f"release: {released:,} rows in {seconds:.2f} s ({seconds * 1000 / max(rows, 1):.3f} "
          f"ms a row, batches of 500)", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
