"""Seed a benchmark catalogue for the feed: `manage.py feed_seed_bench`.

100,000 published posts (rows only: ready assets without files), 10,000 users with hidden
topic tastes, 1,000,000 per user x post watch aggregates (and the per post-hour aggregates
summed from them) spread over the last 7 days, follows (one user follows 2,000 accounts),
hashtags, and text embeddings of the captions from the real MiniLM model (one vector per
distinct caption, computed once; each post gets its caption's vector plus a little noise).

Meant for a separate database (`DATABASE_URL=.../bench_reco`): it refuses a database whose
name does not contain "bench" unless --force. Bulk paths only: ids from
`apps.core.ids.allocate_ids`, COPY for the large tables."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.usernames import skeleton
from apps.analytics.models import PostHourlyStats, UserPostStats
from apps.content.models import Hashtag, Post, PostHashtag
from apps.core.ids import allocate_ids
from apps.feed.embeddings import encode
from apps.feed.models import PostEmbedding
from apps.feed.topics import TOPICS
from apps.media.models import MediaAsset
from apps.social.models import Follow

LANGUAGES = ("en", "en", "en", "es", "pt", "de")
TEMPLATES = (
    "best {w} video ever", "my {w} routine today", "you will not believe this {w}",
    "quick {w} tip", "{w} fails compilation", "day in the life: {w}", "trying {w} for the "
    "first time", "top 5 {w} moments", "{w} tutorial for beginners", "rating {w} ideas",
    "{w} challenge with friends", "honest review of {w}", "{w} hacks that work",
    "weekend {w} vlog", "the art of {w}", "{w} mistakes to avoid",
)
FOLLOWER_USERNAME = "bench_follower"
PASSWORD = "correct-horse-battery"


def copy_rows(model: type[models.Model], columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a model's table (columns by db name); NULL as \\N."""
    table = model._meta.db_table
    n = 0
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join("\\N" if v is None else str(v) for v in row))
                buf.write("\n")
                n += 1
                if n % 50_000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
    return n


class Command(BaseCommand):
    help = "Seed 100k posts, 10k users, 1M watch aggregates for the feed benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--posts", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--creators", type=int, default=5_000)
        parser.add_argument("--follows", type=int, default=2_000,
                            help="accounts the user `bench_follower` follows")
        parser.add_argument("--force", action="store_true",
                            help="allow a database whose name lacks 'bench'")
        parser.add_argument("--seed", type=int, default=11)

    def say(self, started: float, what: str) -> None:
        self.stdout.write(f"[{time.monotonic() - started:7.1f}s] {what}")

    def handle(self, *args: Any, **o: Any) -> None:
        name = str(connection.settings_dict["NAME"])
        if "bench" not in name and not o["force"]:
            raise CommandError(f"Refusing to seed database {name!r}: use a separate database "
                               "(e.g. DATABASE_URL=.../bench_reco) or --force.")
        if Post.objects.exists():
            raise CommandError(f"Database {name!r} already has posts; seed an empty one.")
        rng = np.random.default_rng(o["seed"])
        started = time.monotonic()
        now = timezone.now()
        topics = list(TOPICS)

        # --- users -------------------------------------------------------------------------
        n_users = o["users"]
        password = make_password(PASSWORD)
        user_ids = allocate_ids(n_users)
        langs = rng.choice(LANGUAGES, size=n_users)
        joined = [now - timedelta(days=float(d)) for d in rng.uniform(1, 400, n_users)]
        names = [f"bench{i}" if i else FOLLOWER_USERNAME for i in range(n_users)]
        # bulk_create skips User.save: the skeleton is computed here, and each user gets
        # the verified address that makes an account (and its posts) visible to others.
        users = [User(id=uid, username=names[i], username_skeleton=skeleton(names[i]),
                      email=f"{names[i]}@bench.swipeme.local", password=password,
                      date_of_birth=date(1990, 1, 1),
                      language=str(langs[i]), country="US", date_joined=joined[i],
                      display_name=f"Bench {i}")
                 for i, uid in enumerate(user_ids)]
        with transaction.atomic():
            User.objects.bulk_create(users, batch_size=5000)
            EmailAddress.objects.bulk_create(
                [EmailAddress(user_id=u.pk, email=u.email, verified=True, primary=True)
                 for u in users], batch_size=5000)
        self.say(started, f"{n_users:,} users")
        creators = np.array(user_ids[1:o["creators"] + 1], dtype=np.int64)
        creator_topic = rng.integers(0, len(topics), size=len(creators))

        # --- hashtags and captions -------------------------------------------------------------
        tag_names = sorted({str(t) for spec in TOPICS.values()
                            for t in spec["hashtags"]})  # type: ignore[attr-defined]
        tag_ids = allocate_ids(len(tag_names))
        Hashtag.objects.bulk_create([Hashtag(id=i, name=n) for i, n in zip(
            tag_ids, tag_names, strict=True)])
        tag_id = dict(zip(tag_names, tag_ids, strict=True))
        captions: list[tuple[str, list[str]]] = []  # (caption, tags) per (topic, template)
        for topic in topics:
            tags: list[str] = list(TOPICS[topic]["hashtags"])  # type: ignore[call-overload]
            word = str(TOPICS[topic]["label"]).lower()
            for j, template in enumerate(TEMPLATES):
                chosen = [tags[j % len(tags)], tags[(j + 1) % len(tags)]]
                captions.append((template.format(w=word) + " " +
                                 " ".join(f"#{t}" for t in chosen), chosen))
        vectors = encode([c for c, _ in captions])
        self.say(started, f"{len(captions)} distinct captions embedded with MiniLM")

        # --- assets and posts ----------------------------------------------------------------
        n_posts = o["posts"]
        post_creator_idx = rng.integers(0, len(creators), size=n_posts)
        # Creators post mostly in their own topic.
        post_topic = np.where(rng.random(n_posts) < 0.8, creator_topic[post_creator_idx],
                              rng.integers(0, len(topics), size=n_posts))
        post_template = rng.integers(0, len(TEMPLATES), size=n_posts)
        caption_idx = post_topic * len(TEMPLATES) + post_template
        quality = rng.beta(2.0, 3.0, size=n_posts)
        age_s = rng.uniform(60, 30 * 86400, size=n_posts)
        published = [now - timedelta(seconds=float(s)) for s in age_s]
        duration = rng.integers(8_000, 60_000, size=n_posts)
        post_lang = np.where(rng.random(n_posts) < 0.7, "en",
                             rng.choice(LANGUAGES, size=n_posts))
        asset_ids = allocate_ids(n_posts)
        post_ids = allocate_ids(n_posts)
        for start in range(0, n_posts, 10_000):
            sl = range(start, min(start + 10_000, n_posts))
            with transaction.atomic():
                MediaAsset.objects.bulk_create([MediaAsset(
                    id=asset_ids[i], owner_id=int(creators[post_creator_idx[i]]),
                    state=MediaAsset.State.READY, duration_ms=int(duration[i]), width=1080,
                    height=1920, playable_at=published[i], ready_at=published[i])
                    for i in sl], batch_size=5000)
                Post.objects.bulk_create([Post(
                    id=post_ids[i], author_id=int(creators[post_creator_idx[i]]),
                    asset_id=asset_ids[i], caption=captions[caption_idx[i]][0],
                    caption_entities=[{"type": "hashtag", "name": t, "text": f"#{t}",
                                       "start": 0, "end": 0}
                                      for t in captions[caption_idx[i]][1]],
                    language=str(post_lang[i]), status=Post.Status.PUBLISHED,
                    published_at=published[i]) for i in sl], batch_size=5000)
        self.say(started, f"{n_posts:,} assets and posts")
        copy_rows(PostHashtag, ("post_id", "hashtag_id"), (
            (post_ids[i], tag_id[t]) for i in range(n_posts) for t in captions[caption_idx[i]][1]))
        self.say(started, "post hashtags")

        # --- embeddings: each post its caption's vector plus a little noise ----------------------
        def emb_rows() -> Iterable[tuple[Any, ...]]:
            for start in range(0, n_posts, 5000):
                idx = np.arange(start, min(start + 5000, n_posts))
                vec = vectors[caption_idx[idx]] + rng.normal(0, 0.02, (len(idx), 384))
                vec /= np.linalg.norm(vec, axis=1, keepdims=True)
                for k, i in enumerate(idx.tolist()):
                    text = "[" + ",".join(f"{x:.4f}" for x in vec[k]) + "]"
                    yield (post_ids[i], text, "bench", now.isoformat())
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS feed_postemb_vector_hnsw")
        copy_rows(PostEmbedding, ("post_id", "vector", "text_hash", "updated_at"), emb_rows())
        self.say(started, "post embeddings copied; building the HNSW index")
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("CREATE INDEX feed_postemb_vector_hnsw ON feed_postembedding "
                           "USING hnsw (vector vector_cosine_ops) WITH (m = 16, "
                           "ef_construction = 64)")
        self.say(started, "HNSW index built")

        # --- follows ----------------------------------------------------------------------------
        follows: list[tuple[int, int]] = []
        heavy = rng.choice(creators, size=min(o["follows"], len(creators)), replace=False)
        follows += [(user_ids[0], int(c)) for c in heavy]
        user_topic = rng.integers(0, len(topics), size=n_users)
        for u in range(1, n_users):
            same = creators[creator_topic == user_topic[u]]
            picks = rng.choice(same, size=min(15, len(same)), replace=False)
            follows += [(user_ids[u], int(c)) for c in picks if int(c) != user_ids[u]]
        follow_ids = allocate_ids(len(follows))
        copy_rows(Follow, ("id", "follower_id", "followee_id", "created_at"), (
            (fid, a, b, (now - timedelta(days=10)).isoformat())
            for fid, (a, b) in zip(follow_ids, follows, strict=True)))
        self.say(started, f"{len(follows):,} follows")

        # --- watch aggregates: per user x post, then per post-hour ---------------------------
        n_events = o["events"]
        per_user = max(1, n_events // n_users)
        recent = np.flatnonzero(age_s < 7 * 86400)
        by_topic = [recent[post_topic[recent] == t] for t in range(len(topics))]
        ups_cols = ("user_id", "post_id", "impressions", "plays", "watch_ms", "max_completion",
                    "loops", "rewatches", "completed", "skipped", "liked", "shared",
                    "not_interested", "last_event_at")
        hourly: dict[tuple[int, int], list[int]] = {}
        stats_rows: list[tuple[Any, ...]] = []
        total = 0
        for u in range(n_users):
            taste = user_topic[u]
            own = by_topic[taste]
            k_own = int(per_user * 0.6)
            pick = np.concatenate([rng.choice(own, size=min(k_own, len(own)), replace=False),
                                   rng.choice(recent, size=per_user - min(k_own, len(own)),
                                              replace=False)])
            pick = np.unique(pick)
            match = post_topic[pick] == taste
            p_complete = np.clip(0.08 + 0.55 * match + 0.35 * quality[pick], 0, 0.97)
            completed = rng.random(len(pick)) < p_complete
            fraction = np.where(completed, 1.0, rng.uniform(0.02, 0.9, len(pick)))
            liked = completed & (rng.random(len(pick)) < 0.25 + 0.2 * match)
            at = now.timestamp() - rng.uniform(0, np.minimum(age_s[pick], 7 * 86400))
            for j, i in enumerate(pick.tolist()):
                watch_ms = int(fraction[j] * duration[i])
                stamp = datetime.fromtimestamp(float(at[j]), tz=UTC)
                stats_rows.append((user_ids[u], post_ids[i], 1, 1, watch_ms,
                                   round(float(fraction[j]), 4), 0, 0,
                                   "t" if completed[j] else "f",
                                   "t" if fraction[j] < 0.05 else "f",
                                   "t" if liked[j] else "f", "f", "f", stamp.isoformat()))
                key = (i, int(at[j] // 3600))
                agg = hourly.setdefault(key, [0, 0, 0, 0, 0])
                agg[0] += 1
                agg[1] += watch_ms
                agg[2] += int(completed[j])
                agg[3] += int(liked[j])
                agg[4] += 1
            total += len(pick)
            if len(stats_rows) >= 200_000:
                copy_rows(UserPostStats, ups_cols, stats_rows)
                stats_rows = []
        copy_rows(UserPostStats, ups_cols, stats_rows)
        self.say(started, f"{total:,} user x post watch aggregates")
        hour_fields = [str(f.column) for f in PostHourlyStats._meta.concrete_fields
                       if f.column != "id"]

        def hour_rows() -> Iterable[list[Any]]:
            for (i, hour), (plays, watch_ms, comps, likes, imps) in hourly.items():
                row: dict[str, Any] = dict.fromkeys(hour_fields, 0)
                row.update(post_id=post_ids[i], impressions=imps, plays=plays,
                           watch_ms=watch_ms, completions=comps, likes=likes,
                           watch_fraction_sum=watch_ms / float(duration[i]),
                           watch_fraction_count=plays,
                           hour=datetime.fromtimestamp(hour * 3600, tz=UTC).isoformat())
                yield [row[c] for c in hour_fields]
        n_hours = copy_rows(PostHourlyStats, hour_fields, hour_rows())
        self.say(started, f"{n_hours:,} post-hour aggregates")
        # Counters on the posts, as engagement would have flushed them.
        with connection.cursor() as cursor:
            cursor.execute(f"""
                UPDATE content_post p SET views_count = s.plays, likes_count = s.likes
                FROM (SELECT post_id, SUM(plays) plays, SUM(likes) likes
                      FROM {PostHourlyStats._meta.db_table} GROUP BY post_id) s
                WHERE p.id = s.post_id""")  # noqa: S608
            cursor.execute("ANALYZE")
        self.say(started, f"done: {n_posts:,} posts, {n_users:,} users, {total:,} aggregates; "
                          f"user {FOLLOWER_USERNAME!r} follows {len(heavy):,} accounts")
