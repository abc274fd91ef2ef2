"""The experiment-analysis query at 10,000,000 events: the lake's engine (chdb over the
lake's Parquet files) against PostgreSQL (the same rows in a table, loaded with COPY),
timed in the same run, median of `--runs` (bench/_runs.py prints the load before and after
each run).

The data (generated once, vectorised with numpy/pyarrow, cached):

- `--events` events (10,000,000) over 14 UTC days from 2026-11-01, written as the lake
  writes them after compaction: `events/date=.../hour=.../compacted-*.parquet` (zstd, the
  lake's full schema, `apps.analytics.lake.columns`), under var/bench/experiments-lake-<N>/;
- `--users` signed-in users (150,000), of whom `--assigned` (100,000) are assigned to the
  experiment `bench-exp`, arms `control` / `treatment` (50/50); each assigned user is first
  exposed on a random day of the first ten (an `exposure` event, then one or two more
  later); users' activity is log-normal (some watch a lot), 5 % of events are signed-out;
  event types: impressions, plays, progress heartbeats, watch ends (with `watched_ms`, 3 %
  longer in the treatment arm after exposure), skips, likes, shares;
- the same rows in PostgreSQL (database `bench_experiments` on the project's server, table
  `lake_events_<N>` with the lake's columns in PostgreSQL types, COPY in CSV), indexed on
  (type, ts) and (user_id), analysed; the assignments in `bench_assignments_<N>`.

The query (`EXPERIMENT_SQL` for the engine, `PG_SQL` the same in PostgreSQL's dialect): the
exposed units of the experiment in the window (first exposure), their watch time from
their first exposure to the end of the window (0 for those who watched nothing), per arm:
users, mean and sample variance. The engine gets the 100,000 assignments as a side table
in each call (as the experiments app passes them); PostgreSQL has them in a table. The two
answers are compared (users equal, means and variances within 1e-9 relative) before any
time is reported.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import _runs  # noqa: E402

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 14
EXPERIMENT = "bench-exp"
WINDOW_START = START + timedelta(days=1)
WINDOW_END = START + timedelta(days=DAYS)
PG_DATABASE = "bench_experiments"

# type → share of the activity events
TYPE_SHARES = {"impression": 0.34, "play_start": 0.18, "watch_progress": 0.14,
               "watch_end": 0.16, "skip": 0.08, "like": 0.06, "share": 0.04}

# ClickHouse inlines a CTE at each reference, so the exposed units are named once: the
# watch ends stream on the left of a RIGHT JOIN against them (the hash table is built from
# the right side: 100,000 units, not millions of events); units who watched nothing keep a
# row (the non-matching side's defaults fail the time condition: 0).
EXPERIMENT_SQL = """
SELECT arm, count() AS users, avg(watch_ms) AS mean_watch_ms, varSamp(watch_ms) AS var_watch_ms
FROM (
    SELECT x.unit AS unit, any(x.arm) AS arm,
           sum(if(e.ts >= x.first_exposure AND e.ts < {end:DateTime64(3, 'UTC')},
                  toFloat64(coalesce(e.watched_ms, 0)), 0)) AS watch_ms
    FROM (
        SELECT user_id, ts, watched_ms FROM events
        WHERE type = 'watch_end' AND ts >= {start:DateTime64(3, 'UTC')}
          AND ts < {end:DateTime64(3, 'UTC')}
    ) AS e
    RIGHT JOIN (
        SELECT f.unit AS unit, f.first_exposure AS first_exposure, a.arm AS arm
        FROM (
            SELECT user_id AS unit, min(ts) AS first_exposure
            FROM events
            WHERE type = 'exposure' AND experiment = {experiment:String}
              AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
              AND user_id IS NOT NULL
            GROUP BY user_id
        ) AS f
        INNER JOIN assignments AS a ON a.unit = f.unit
    ) AS x ON e.user_id = x.unit
    GROUP BY x.unit
)
GROUP BY arm
ORDER BY arm
"""

PG_SQL = """
WITH exposed AS (
    SELECT user_id AS unit, min(ts) AS first_exposure
    FROM {events}
    WHERE type = 'exposure' AND experiment = %(experiment)s
      AND ts >= %(start)s AND ts < %(end)s AND user_id IS NOT NULL
    GROUP BY user_id
),
per_user AS (
    SELECT x.unit AS unit, sum(e.watched_ms) AS watch_ms
    FROM {events} AS e JOIN exposed AS x ON e.user_id = x.unit
    WHERE e.type = 'watch_end' AND e.ts >= x.first_exposure AND e.ts < %(end)s
    GROUP BY x.unit
)
SELECT a.arm AS arm, count(*) AS users,
       avg(coalesce(p.watch_ms, 0)::float8) AS mean_watch_ms,
       var_samp(coalesce(p.watch_ms, 0)::float8) AS var_watch_ms
FROM exposed AS x
JOIN {assignments} AS a ON a.unit = x.unit
LEFT JOIN per_user AS p ON p.unit = x.unit
GROUP BY a.arm
ORDER BY a.arm
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=150_000)
    parser.add_argument("--assigned", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=BASE_DIR / "var" / "bench")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the Parquet files and the PostgreSQL table again")
    _runs.add_arguments(parser, default_runs=5)


def _setup_django(lake_root: Path) -> None:
    os.environ["SWIPEME_LAKE_ROOT"] = str(lake_root)
    os.environ["SWIPEME_LAKE_S3_BUCKET"] = ""
    os.environ["CLICKHOUSE_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
    import django

    django.setup()


# --- generation ------------------------------------------------------------------------------


class Generator:
    """Deterministic synthetic events for one day at a time (numpy, no per-row Python)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = np.random.default_rng(args.seed)
        self.users = args.users
        self.events = args.events
        rng = self.rng
        # activity weights: log-normal, so a few users make many events
        weights = rng.lognormal(mean=0.0, sigma=1.0, size=args.users)
        self.weights = weights / weights.sum()
        self.user_ids = np.arange(1_000_001, 1_000_001 + args.users, dtype=np.int64)
        assigned = rng.choice(args.users, size=args.assigned, replace=False)
        self.assigned_idx = np.sort(assigned)
        self.arm_of_idx = np.full(args.users, -1, dtype=np.int8)
        self.arm_of_idx[self.assigned_idx] = rng.integers(0, 2, size=args.assigned)
        # first exposure: a random moment in the first ten days; 0-2 more exposures later
        self.first_exposure_ms = np.full(args.users, np.iinfo(np.int64).max, dtype=np.int64)
        start_ms = int(START.timestamp() * 1000)
        self.first_exposure_ms[self.assigned_idx] = start_ms + rng.integers(
            0, 10 * DAY_MS, size=args.assigned)
        extra = rng.integers(0, 3, size=args.assigned)
        first = self.first_exposure_ms[self.assigned_idx]
        later = [first]
        owners = [self.assigned_idx]
        for k in (1, 2):
            has = extra >= k
            later.append(first[has] + rng.integers(HOUR_MS, 3 * DAY_MS, size=int(has.sum())))
            owners.append(self.assigned_idx[has])
        self.exposure_ms = np.concatenate(later)
        self.exposure_idx = np.concatenate(owners)
        self.seq = 0

    def assignments(self) -> dict[str, Any]:
        idx = self.assigned_idx
        arms = np.where(self.arm_of_idx[idx] == 1, "treatment", "control")
        return {"unit": self.user_ids[idx], "arm": arms}

    def day(self, day: int) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        from apps.analytics.lake import columns

        rng = self.rng
        day_start = int(START.timestamp() * 1000) + day * DAY_MS
        per_day = self.events // DAYS + (self.events % DAYS if day == DAYS - 1 else 0)
        in_day = (self.exposure_ms >= day_start) & (self.exposure_ms < day_start + DAY_MS)
        exp_ts = self.exposure_ms[in_day]
        exp_idx = self.exposure_idx[in_day]
        n_act = max(0, per_day - len(exp_ts))
        act_idx = rng.choice(self.users, size=n_act, p=self.weights)
        act_ts = day_start + rng.integers(0, DAY_MS, size=n_act)
        names = list(TYPE_SHARES)
        act_type = rng.choice(len(names), size=n_act, p=np.array(list(TYPE_SHARES.values())))
        n = n_act + len(exp_ts)
        idx = np.concatenate([act_idx, exp_idx])
        ts = np.concatenate([act_ts, exp_ts])
        type_code = np.concatenate([act_type, np.full(len(exp_ts), len(names))])
        type_names = np.array([*names, "exposure"])
        kind = type_names[type_code]
        user = self.user_ids[idx].astype(np.int64)
        signed_out = rng.random(n) < 0.05
        signed_out[n_act:] = False  # exposures are of signed-in users here
        is_watch = kind == "watch_end"
        is_skip = kind == "skip"
        is_progress = kind == "watch_progress"
        duration = rng.integers(5_000, 60_000, size=n)
        watched = (rng.lognormal(mean=9.3, sigma=0.9, size=n)).astype(np.int64)
        # the treatment watches 3 % longer after its first exposure
        lift = (self.arm_of_idx[idx] == 1) & (ts >= self.first_exposure_ms[idx])
        watched = np.where(lift, (watched * 1.03).astype(np.int64), watched)
        watched = np.where(is_skip, np.minimum(watched, 900), watched)
        has_watch = is_watch | is_skip | is_progress
        order = np.argsort(ts, kind="stable")
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        self.seq += n

        def strs(prefix: str, values: np.ndarray) -> Any:
            return pc.binary_join_element_wise(prefix, pc.cast(pa.array(values), pa.string()),
                                               "")

        mask_out = pa.array(signed_out)
        arms = np.where(self.arm_of_idx[idx] == 1, "treatment", "control")
        is_exp = kind == "exposure"
        watched_a = pa.array(watched, pa.int64(), mask=~has_watch)
        duration_a = pa.array(duration, pa.int64(), mask=~has_watch)
        data = pc.if_else(
            pa.array(has_watch),
            pc.binary_join_element_wise('{"duration_ms":', pc.cast(duration_a, pa.string()),
                                        ',"watched_ms":', pc.cast(watched_a, pa.string()),
                                        "}", ""),
            pc.if_else(pa.array(is_exp),
                       pc.binary_join_element_wise('{"arm":"', pa.array(arms),
                                                   f'","experiment":"{EXPERIMENT}"}}', ""),
                       "{}"))
        values: dict[str, Any] = {
            "event_id": strs("bench/", seq),
            "client_event_id": strs("c", seq),
            "type": pa.array(kind),
            "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "received_at": pa.array(ts + rng.integers(0, 5_000, size=n), pa.int64()).cast(
                pa.timestamp("ms", tz="UTC")),
            "user_id": pa.array(user, pa.int64(), mask=signed_out),
            "session_id": strs("s", self.user_ids[idx]),
            "post_id": pa.array(rng.integers(1, 2_000_000, size=n), pa.int64(),
                                mask=is_exp),
            "auth": pc.if_else(mask_out, pa.scalar(None, pa.string()), "session"),
            "app_version": pa.nulls(n, pa.string()),
            "user_agent": pa.array(np.full(n, "bench/1.0")),
            "watched_ms": watched_a,
            "duration_ms": duration_a,
            "experiment": pa.array(np.full(n, EXPERIMENT), mask=~is_exp),
            "arm": pa.array(arms, mask=~is_exp),
            "data": data,
        }
        arrays = []
        for column in columns.columns():
            value = values.get(column.name)
            arrays.append(pa.nulls(n, column.arrow) if value is None else value)
        table = pa.Table.from_arrays(arrays, schema=columns.arrow_schema())
        return table.take(pa.array(order)), ts[order]


def generate(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The Parquet files (one per hour) and the PostgreSQL table, from the same tables."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from apps.analytics.lake import storage

    gen = Generator(args)
    conn, events_table, assignments_table = _pg_tables(args, create=True)
    started = time.monotonic()
    rows = 0
    with conn.cursor() as cur:
        for day in range(DAYS):
            table, ts = gen.day(day)
            hours = (ts - ts[0] // DAY_MS * DAY_MS) // HOUR_MS
            bounds = np.searchsorted(hours, np.arange(25))
            for hour in range(24):
                part = table.slice(int(bounds[hour]), int(bounds[hour + 1] - bounds[hour]))
                if part.num_rows == 0:
                    continue
                partition = storage.Partition.of_ms(int(ts[bounds[hour]]))
                directory = root / partition.path
                directory.mkdir(parents=True, exist_ok=True)
                pq.write_table(part, directory / f"compacted-bench-{day:02d}{hour:02d}.parquet",
                               compression="zstd")
            buffer = io.BytesIO()
            pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
            with cur.copy(f"COPY {events_table} FROM STDIN (FORMAT csv)") as copy:
                view = buffer.getbuffer()
                for offset in range(0, len(view), 8 << 20):
                    copy.write(view[offset:offset + (8 << 20)])
            rows += table.num_rows
            print(f"  day {day + 1}/{DAYS}: {table.num_rows:,} events "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
        assignments = gen.assignments()
        side = pa.table(assignments)
        pq.write_table(side, root / "assignments.parquet")
        buffer = io.BytesIO()
        pacsv.write_csv(side, buffer, pacsv.WriteOptions(include_header=False))
        with cur.copy(f"COPY {assignments_table} FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        print("  PostgreSQL: indexes and ANALYZE", flush=True)
        cur.execute(f"CREATE INDEX ON {events_table} (type, ts)")
        cur.execute(f"CREATE INDEX ON {events_table} (user_id)")
        cur.execute(f"ALTER TABLE {assignments_table} ADD PRIMARY KEY (unit)")
        cur.execute(f"ANALYZE {events_table}")
        cur.execute(f"ANALYZE {assignments_table}")
        cur.execute(f"SELECT pg_total_relation_size('{events_table}')")
        pg_bytes = int(cur.fetchone()[0])
    conn.close()
    parquet_bytes = sum(p.stat().st_size for p in (root / "events").rglob("*.parquet"))
    info = {"events": rows, "seconds": round(time.monotonic() - started, 1),
            "parquet_bytes": parquet_bytes, "postgres_bytes": pg_bytes,
            "args": {"events": args.events, "users": args.users, "assigned": args.assigned,
                     "seed": args.seed}}
    (root / "done.json").write_text(json.dumps(info, indent=2))
    return info


def _pg_tables(args: argparse.Namespace, *, create: bool) -> tuple[Any, str, str]:
    import psycopg
    from django.conf import settings

    from apps.analytics.lake import columns

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"],
              "password": db["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               [PG_DATABASE]).fetchone()
        if not exists:
            admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    conn = psycopg.connect(dbname=PG_DATABASE, autocommit=True, **params)
    events_table = f"lake_events_{args.events}"
    assignments_table = f"bench_assignments_{args.events}"
    if create:
        conn.execute(f"DROP TABLE IF EXISTS {events_table}")
        conn.execute(f"DROP TABLE IF EXISTS {assignments_table}")
        cols = ", ".join(f"{c.name} {c.pg}" for c in columns.columns())
        conn.execute(f"CREATE UNLOGGED TABLE {events_table} ({cols})")
        conn.execute(f"CREATE UNLOGGED TABLE {assignments_table} (unit bigint, arm text)")
    return conn, events_table, assignments_table


# --- the measurement ---------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def main(args: argparse.Namespace) -> None:
    root = args.cache / f"experiments-lake-{args.events}"
    _setup_django(root)
    import pyarrow.parquet as pq

    from apps.analytics.lake import engine

    done = root / "done.json"
    if args.regenerate or not done.exists():
        print(f"generating {args.events:,} events into {root} and PostgreSQL "
              f"({PG_DATABASE})", flush=True)
        info = generate(args, root)
    else:
        info = json.loads(done.read_text())
    print(f"data: {info['events']:,} events; Parquet {info['parquet_bytes'] / 1e6:,.0f} MB, "
          f"PostgreSQL {info['postgres_bytes'] / 1e6:,.0f} MB (generated in "
          f"{info['seconds']} s)", flush=True)
    assignments = pq.read_table(root / "assignments.parquet")
    conn, events_table, assignments_table = _pg_tables(args, create=False)
    pg_sql = PG_SQL.format(events=events_table, assignments=assignments_table)
    params = {"experiment": EXPERIMENT, "start": WINDOW_START, "end": WINDOW_END}
    print(f"query: per arm over [{WINDOW_START:%Y-%m-%d}, {WINDOW_END:%Y-%m-%d}), "
          f"{assignments.num_rows:,} assignments; backend {engine.backend()}", flush=True)

    # each side's first query pays its start-up (chdb's engine, a connection's catalogue
    # cache): once, untimed, as in a long-running process
    engine.run("SELECT 1 AS warm")
    conn.execute("SELECT 1").fetchall()
    runs = _runs.Runs("experiments engine", args)
    answers: dict[str, list[tuple[Any, ...]]] = {}
    for run in runs:
        t0 = time.perf_counter()
        ch_rows = engine.run(EXPERIMENT_SQL, params, tables={"assignments": assignments})
        t_chdb = time.perf_counter() - t0
        t0 = time.perf_counter()
        pg_rows = conn.execute(pg_sql, params).fetchall()
        t_pg = time.perf_counter() - t0
        answers["chdb"], answers["postgres"] = ch_rows, [tuple(r) for r in pg_rows]
        agree = len(ch_rows) == len(pg_rows) and all(
            c[0] == p[0] and c[1] == p[1] and _close(c[2], p[2]) and _close(c[3], p[3])
            for c, p in zip(ch_rows, pg_rows, strict=True))
        if not agree:
            print(f"ANSWERS DIFFER: chdb {ch_rows} postgres {pg_rows}", flush=True)
            sys.exit(1)
        print(f"  chdb {t_chdb:.2f} s, PostgreSQL {t_pg:.2f} s; answers agree", flush=True)
        run.figure("chdb s", t_chdb, "s")
        run.figure("postgres s", t_pg, "s")
        run.ratio("postgres/chdb time", t_pg, t_chdb)
    print("\nanswer (arm, users, mean watch ms per user, variance):")
    for row in answers["chdb"]:
        print(f"  {row[0]:<10} {row[1]:>8,} {row[2]:>12,.1f} {row[3]:>16,.0f}")
    summary = runs.summary()
    ratio = summary["ratios"].get("postgres/chdb time", {}).get("median")
    chdb_median = statistics.median(r.figures["chdb s"] for r in runs.done)
    pg_median = statistics.median(r.figures["postgres s"] for r in runs.done)
    print(f"\nchdb {chdb_median:.2f} s, PostgreSQL {pg_median:.2f} s (medians); "
          f"PostgreSQL/chdb = {ratio:.2f}x" if ratio else "")
    if ratio:
        # the choice follows the same-run ratio's median (and says so on a busy machine)
        winner = "the lake's engine (chdb)" if ratio > 1 else "PostgreSQL"
        busy = " (measured on a busy machine)" if summary["busy"] else ""
        print(f"choice by these figures: {winner}{busy}")
    conn.close()
