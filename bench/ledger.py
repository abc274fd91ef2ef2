"""The ledger under load (issue 17, "Benchmarks"): gifts posted by concurrent workers over
hot creator accounts, with injected retries and aborted transactions, then every
invariant checked; transfers per second against a plain INSERT of the same rows measured
in the same run (target: the ledger at least 1/3 of the plain INSERT).

    flock /tmp/helpers/bench.lock .venv/bin/python bench/ledger.py --runs 3
    .venv/bin/python bench/ledger.py --quick --runs 1        # seconds: 4 x 50 over 5

1. A dedicated database (`--database-url`, default `bench_ledger`; its name must contain
   "bench"), migrated (kept with --reuse). Accounts are the ledger's own: a coin wallet per
   sender (10 per worker, funded by a purchase-like posting: issuance -> wallet), an
   earnings clearing account per creator (where a gift's share lands: the clearing
   period), and the sharded platform accounts (coin issuance, coin sales, revenue).
   The ledger knows owners only by id, so the owners are ids, not user rows. Some senders
   get fewer coins than they will try to give: the overdraft refusals are part of the load.
2. Ledger (per run): `--workers` processes (32) each post `--gifts` gifts (10,000), each
   one linked set of monetization.md's gift legs (COIN wallet -> issuance; USD coin sales
   -> the creator's earnings clearing account at 70 %; coin sales -> revenue) through
   `apps.payments.services.ledger.post_transfers` in its own transaction, over `--creators`
   (100) hot creators. Injected: `--retry` (5 %) of the gifts are sent again with the same
   key (half by the same worker right away, half by the next worker: a concurrent retry)
   and must answer the first set; `--abort` (5 %) are posted inside a transaction that then
   fails (rolled back) and are sent again later with the same key. Accounts are resolved
   once per worker (as a caller would keep them), so this measures posting.
3. Plain INSERT (per run, same run): the same workers insert the same rows (one set row,
   its transfer rows) in one transaction per gift into two tables with no trigger, check
   or balance (`bench_plain_set`, `bench_plain_transfer`), with raw SQL.
4. After each run: the reconciliation (every account's maintained balances = the sum of
   its transfers, the books per asset balance to the unit), no account that forbids it
   below zero, every committed key exactly one set with its legs (no duplicate, nothing
   from an aborted transaction), every creator's earnings exactly the sum of the gifts
   the workers saw committed, every sender's wallet its funding less what it gave.
The load average is printed before and after every run (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runs import Runs, add_arguments  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_ledger"
COIN_VALUE = 10_000  # micros per coin (settings.SWIPEME_COIN_VALUE_MICROS)
SHARE_BPS = 7000
SENDERS_PER_WORKER = 10
OWNER_BASE = 9_000_000_000  # owner ids of the bench (no user rows: the ledger has none)

PLAIN_DDL = """
CREATE TABLE IF NOT EXISTS bench_plain_set (
    id bigint PRIMARY KEY DEFAULT swipeme_next_id(), key varchar(128) NOT NULL UNIQUE,
    fingerprint varchar(64) NOT NULL, code varchar(32) NOT NULL, phase varchar(16) NOT NULL,
    memo varchar(200) NOT NULL, metadata jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS bench_plain_transfer (
    id bigint PRIMARY KEY DEFAULT swipeme_next_id(), set_id bigint NOT NULL,
    debit_account_id bigint NOT NULL, credit_account_id bigint NOT NULL,
    asset varchar(8) NOT NULL, amount bigint NOT NULL, code varchar(32) NOT NULL,
    created_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS bench_plain_transfer_set ON bench_plain_transfer (set_id);
"""


@dataclass
class Plan:
    """What every worker needs, resolved once (account ids and assets)."""

    tag: str
    workers: int
    gifts: int
    creators: int
    retry: float
    abort: float
    wallets: dict[int, int] = field(default_factory=dict)  # sender owner id -> account id
    funding: dict[int, int] = field(default_factory=dict)  # sender -> coins funded
    earnings: dict[int, int] = field(default_factory=dict)  # creator owner id -> account id
    issuance: dict[int, int] = field(default_factory=dict)  # shard -> account id
    sales: dict[int, int] = field(default_factory=dict)
    revenue: dict[int, int] = field(default_factory=dict)
    before: dict[int, int] = field(default_factory=dict)  # account id -> balance at start

    def senders_of(self, worker: int) -> list[int]:
        first = OWNER_BASE + worker * SENDERS_PER_WORKER
        return list(range(first, first + SENDERS_PER_WORKER))

    def creator_ids(self) -> list[int]:
        return [OWNER_BASE + 10_000_000 + c for c in range(self.creators)]


def gift_of(plan: Plan, worker: int, i: int) -> tuple[str, int, int, int]:
    """(key, sender, creator, coins) of a worker's i-th gift: the same from anyone who asks,
    so another worker can retry it with exactly the same legs."""
    rng = random.Random(f"{plan.tag}:{worker}:{i}")
    sender = rng.choice(plan.senders_of(worker))
    creator = rng.choice(plan.creator_ids())
    return f"bench:{plan.tag}:{worker}:{i}", sender, creator, rng.randint(1, 5)


def legs_of(plan: Plan, sender: int, creator: int, coins: int) -> list[Any]:
    from apps.payments.models.ledger import LedgerAccount
    from apps.payments.services.ledger import Leg, platform_shard

    def acc(pk: int, asset: str) -> LedgerAccount:
        return LedgerAccount(pk=pk, asset=asset)

    value = coins * COIN_VALUE
    share = value * SHARE_BPS // 10_000
    s_shard, c_shard = platform_shard(sender), platform_shard(creator)
    return [
        Leg(acc(plan.wallets[sender], "COIN"), acc(plan.issuance[s_shard], "COIN"), coins,
            "coins_spent"),
        Leg(acc(plan.sales[c_shard], "USD"), acc(plan.earnings[creator], "USD"), share,
            "creator_share"),
        Leg(acc(plan.sales[c_shard], "USD"), acc(plan.revenue[c_shard], "USD"), value - share,
            "platform_fee"),
    ]


class AbortedError(Exception):
    pass


def ledger_worker(plan: Plan, worker: int) -> dict[str, Any]:
    """Post this worker's gifts; return what it saw committed (key -> (sender, creator,
    coins)) and its counts."""
    from django.db import connections, transaction

    from apps.payments.services.ledger import InsufficientFundsError, post_transfers

    rng = random.Random(f"{plan.tag}:worker:{worker}")
    committed: dict[str, tuple[int, int, int]] = {}
    counts: Counter[str] = Counter()
    later: list[int] = []

    def post(i: int, owner: int) -> None:
        key, sender, creator, coins = gift_of(plan, owner, i)
        legs = legs_of(plan, sender, creator, coins)
        try:
            entry = post_transfers(key=key, code="gift", legs=legs)
        except InsufficientFundsError:
            counts["refused_insufficient"] += 1
            return
        if owner == worker:
            committed[key] = (sender, creator, coins)
        first = entry.pk
        if rng.random() < plan.retry:  # the client did not hear back: the same key again
            again = post_transfers(key=key, code="gift", legs=legs)
            counts["retried"] += 1
            if again.pk != first:
                counts["retry_answered_another_set"] += 1

    try:
        for i in range(plan.gifts):
            if rng.random() < plan.abort:
                try:
                    with transaction.atomic():
                        key, sender, creator, coins = gift_of(plan, worker, i)
                        post_transfers(key=key, code="gift",
                                       legs=legs_of(plan, sender, creator, coins))
                        raise AbortedError  # the caller's own work failed after the posting
                except AbortedError:
                    counts["aborted"] += 1
                except Exception:  # noqa: BLE001 - an overdraft inside the doomed block
                    counts["aborted"] += 1
                later.append(i)
                continue
            post(i, worker)
            if i and rng.random() < plan.retry / 2 and worker + 1 < plan.workers:
                # a concurrent retry of the next worker's gift (same key, same legs)
                post(rng.randrange(i), worker + 1)
                counts["cross_retried"] += 1
        for i in later:  # the aborted ones, sent again with their key
            post(i, worker)
    finally:
        connections.close_all()
    return {"committed": committed, "counts": dict(counts)}


def plain_worker(plan: Plan, worker: int) -> dict[str, Any]:
    """The same rows as the ledger posts, inserted plainly: one transaction per gift."""
    from django.db import connection, connections, transaction

    rows = 0
    try:
        with connection.cursor() as cursor:
            for i in range(plan.gifts):
                key, sender, creator, coins = gift_of(plan, worker, i)
                legs = legs_of(plan, sender, creator, coins)
                with transaction.atomic():
                    cursor.execute(
                        "INSERT INTO bench_plain_set (key, fingerprint, code, phase, memo, "
                        "metadata, created_at) VALUES (%s, %s, 'gift', 'posted', '', '{}', "
                        "now()) RETURNING id", [key, "0" * 64])
                    set_id = cursor.fetchone()[0]
                    values = ", ".join(["(%s, %s, %s, %s, %s, %s, now())"] * len(legs))
                    params: list[Any] = []
                    for leg in legs:
                        params += [set_id, leg.debit.pk, leg.credit.pk, leg.debit.asset,
                                   leg.amount, leg.code]
                    cursor.execute(
                        "INSERT INTO bench_plain_transfer (set_id, debit_account_id, "
                        f"credit_account_id, asset, amount, code, created_at) VALUES {values}",
                        params)
                    rows += len(legs)
    finally:
        connections.close_all()
    return {"transfers": rows}


def _call(args: tuple[str, Plan, int]) -> dict[str, Any]:
    name, plan, worker = args
    return (ledger_worker if name == "ledger" else plain_worker)(plan, worker)


def in_parallel(name: str, plan: Plan) -> tuple[list[dict[str, Any]], float]:
    """Run `plan.workers` processes (forked: Django is set up already) at once."""
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with ctx.Pool(plan.workers) as pool:
        results = pool.map(_call, [(name, plan, w) for w in range(plan.workers)], chunksize=1)
    return results, time.perf_counter() - started


def prepare(plan: Plan, *, poor_every: int = 7) -> Plan:
    """Accounts, and coins in every wallet (a few get less than they will give)."""
    from django.conf import settings
    from django.db import connection

    from apps.payments.models.ledger import LedgerAccount
    from apps.payments.services.ledger import Leg, account_for, post_transfers

    kind = LedgerAccount.Kind
    with connection.cursor() as cursor:
        cursor.execute(PLAIN_DDL)
    shards = range(settings.SWIPEME_LEDGER_PLATFORM_SHARDS)
    plan.issuance = {s: account_for(kind.COIN_ISSUANCE, owner_id=None, asset="COIN",
                                    shard=s).pk for s in shards}
    plan.sales = {s: account_for(kind.COIN_SALES, owner_id=None, asset="USD", shard=s).pk
                  for s in shards}
    plan.revenue = {s: account_for(kind.PLATFORM_REVENUE, owner_id=None, asset="USD",
                                   shard=s).pk for s in shards}
    # a gift credits the creator's share to their clearing account (monetization's
    # clearing period); the release to earnings is a later set of its own, not measured here
    plan.earnings = {c: account_for(kind.EARNINGS_CLEARING, owner_id=c, asset="USD").pk
                     for c in plan.creator_ids()}
    per_sender = max(1, plan.gifts // SENDERS_PER_WORKER) * 3  # 3 coins a gift on average
    for worker in range(plan.workers):
        for n, sender in enumerate(plan.senders_of(worker)):
            wallet = account_for(kind.WALLET, owner_id=sender, asset="COIN")
            plan.wallets[sender] = wallet.pk
            coins = per_sender // 2 if (n + worker) % poor_every == 0 else per_sender * 2
            plan.funding[sender] = coins
            issuance = LedgerAccount(pk=plan.issuance[0], asset="COIN")
            post_transfers(key=f"bench:{plan.tag}:fund:{sender}", code="coin_purchase",
                           legs=[Leg(issuance, wallet, coins)])
    mine = [*plan.wallets.values(), *plan.earnings.values()]
    plan.before = dict(LedgerAccount.objects.filter(pk__in=mine).values_list("pk",
                                                                             "credits_posted"))
    for pk, debits in LedgerAccount.objects.filter(pk__in=mine).values_list("pk",
                                                                             "debits_posted"):
        plan.before[pk] -= debits
    return plan


def check(plan: Plan, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Every invariant after the load; returns the figures (all must be 0 / True)."""
    from django.db.models import Count, F

    from apps.payments.models.ledger import LedgerAccount, Transfer, TransferSet
    from apps.payments.services.reconcile import reconcile_ledger

    committed: dict[str, tuple[int, int, int]] = {}
    counts: Counter[str] = Counter()
    for result in results:
        committed.update(result["committed"])
        counts.update(result["counts"])
    run = reconcile_ledger()
    sets = TransferSet.objects.filter(key__startswith=f"bench:{plan.tag}:", code="gift")
    stored = set(sets.values_list("key", flat=True))
    per_set = Counter(dict(sets.annotate(n=Count("transfers")).values_list("key", "n")))
    earned: Counter[int] = Counter()
    spent: Counter[int] = Counter()
    for sender, creator, coins in committed.values():
        value = coins * COIN_VALUE
        earned[creator] += value * SHARE_BPS // 10_000
        spent[sender] += coins
    mine = [*plan.earnings.values(), *plan.wallets.values()]
    moved = {a.pk: a.balance - plan.before[a.pk]
             for a in LedgerAccount.objects.filter(pk__in=mine)}
    return {
        "reconciliation differences": run.differences,
        "accounts below zero": LedgerAccount.objects.filter(
            no_negative=True,
            credits_posted__lt=F("debits_posted") + F("debits_pending")).count(),
        "committed gifts missing a set": len(set(committed) - stored),
        "sets no worker saw committed (aborted kept)": len(stored - set(committed)),
        "sets without exactly 3 transfers": sum(1 for n in per_set.values() if n != 3),
        "earnings off": sum(1 for c, pk in plan.earnings.items() if moved[pk] != earned[c]),
        "wallets off": sum(1 for s, pk in plan.wallets.items() if moved[pk] != -spent[s]),
        "retries answered by another set": counts["retry_answered_another_set"],
        "gifts": len(committed),
        "transfers": Transfer.objects.filter(set__in=sets).count(),
        "counts": dict(counts),
    }


VIOLATIONS = ("reconciliation differences", "accounts below zero",
              "committed gifts missing a set", "sets no worker saw committed (aborted kept)",
              "sets without exactly 3 transfers", "earnings off", "wallets off",
              "retries answered by another set")


def run_once(plan: Plan) -> dict[str, Any]:
    """One measurement: the ledger, then the plain INSERT of the same rows, then checks."""
    prepare(plan)
    ledger_results, ledger_seconds = in_parallel("ledger", plan)
    figures = check(plan, ledger_results)
    plain_results, plain_seconds = in_parallel("plain", plan)
    plain_rows = sum(r["transfers"] for r in plain_results)
    figures["ledger transfers/s"] = figures["transfers"] / ledger_seconds
    figures["plain insert transfers/s"] = plain_rows / plain_seconds
    figures["ledger seconds"] = ledger_seconds
    figures["plain seconds"] = plain_seconds
    return figures


def django_setup(database_url: str) -> None:
    os.environ.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
                      DATABASE_URL=database_url, DJANGO_LOG_LEVEL="WARNING",
                      DATABASE_CONN_MAX_AGE="0")
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    parser.add_argument("--quick", action="store_true", help="4 workers x 50 gifts over 5")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--gifts", type=int, default=None, help="gifts per worker")
    parser.add_argument("--creators", type=int, default=None)
    parser.add_argument("--retry", type=float, default=0.05)
    parser.add_argument("--abort", type=float, default=0.05)
    parser.add_argument("--reuse", action="store_true", help="keep the migrated database")
    parser.add_argument("--database-url", default=None, help=f"default {DEFAULT_DB}")
    args = parser.parse_args()
    workers = args.workers or (4 if args.quick else 32)
    gifts = args.gifts or (50 if args.quick else 10_000)
    creators = args.creators or (5 if args.quick else 100)
    url = args.database_url or os.environ.get("BENCH_LEDGER_DATABASE_URL", DEFAULT_DB)

    from search_speed import ensure_database

    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DATABASE_URL=url,
               DJANGO_DEBUG="0", DJANGO_LOG_LEVEL="WARNING")
    print(f"ledger bench: {workers} workers x {gifts:,} gifts over {creators} creators, "
          f"retry {args.retry:.0%}, abort {args.abort:.0%}; database {url}", flush=True)
    ensure_database(url, recreate=not args.reuse, env=env)
    django_setup(url)
    runs = Runs("ledger", args)
    failed = False
    for run in runs:
        plan = Plan(tag=f"r{run.index}-{int(time.time())}", workers=workers, gifts=gifts,
                    creators=creators, retry=args.retry, abort=args.abort)
        figures = run_once(plan)
        violations = {name: figures[name] for name in VIOLATIONS if figures[name]}
        failed |= bool(violations)
        print(f"  gifts {figures['gifts']:,}, transfers {figures['transfers']:,} in "
              f"{figures['ledger seconds']:.1f} s; plain insert {figures['plain seconds']:.1f} s;"
              f" injected {figures['counts']}", flush=True)
        print("  invariants: " + ("all hold" if not violations else f"BROKEN {violations}"),
              flush=True)
        run.figure("ledger transfers/s", figures["ledger transfers/s"])
        run.figure("plain insert transfers/s", figures["plain insert transfers/s"])
        run.ratio("ledger/plain transfers/s", figures["ledger transfers/s"],
                  figures["plain insert transfers/s"])
        run.figure("invariant violations", float(len(violations)))
    runs.summary()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
