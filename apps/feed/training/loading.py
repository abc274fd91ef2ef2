"""Reading the training data from the aggregates: events, their catalogue, follows,
languages and countries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db import connection

from apps.feed.pools import Catalogue
from apps.feed.training.history import Events


def load_events(*, max_rows: int = 2_000_000) -> tuple[Events, Catalogue, dict[int, set[int]],
                                                        dict[int, str]]:
    """Per user x post watch stats joined with each post's duration, the catalogue of those
    posts (with text embeddings), follow edges, and users' languages."""
    from apps.analytics.models import UserPostStats
    from apps.content.models import Post
    from apps.feed.models import EMBEDDING_DIM
    from apps.feed.pools import embeddings_of, meta_rows
    from apps.social.models import Follow

    ups = UserPostStats._meta.db_table
    sql = f"""
        SELECT s.user_id, s.post_id, EXTRACT(EPOCH FROM s.last_event_at), s.max_completion,
               s.watch_ms, COALESCE(a.duration_ms, 15000), s.completed, s.liked, p.author_id
        FROM {ups} s JOIN content_post p ON p.id = s.post_id
        JOIN media_mediaasset a ON a.id = p.asset_id
        ORDER BY s.last_event_at DESC LIMIT %s
    """  # noqa: S608 - table names from the models
    with connection.cursor() as cursor:
        cursor.execute(sql, [max_rows])
        rows = cursor.fetchall()
    if not rows:
        empty = Events(*(np.zeros(0, d) for d in (np.int64, np.int64, np.float64, np.float32,
                                                     bool, bool, bool)))
        return empty, Catalogue.empty(), {}, {}
    arr = list(zip(*rows, strict=True))
    user = np.array(arr[0], dtype=np.int64)
    post = np.array(arr[1], dtype=np.int64)
    ts = np.array(arr[2], dtype=np.float64)
    watch = np.minimum(np.array(arr[4], dtype=np.float64)
                       / np.maximum(np.array(arr[5], dtype=np.float64), 1.0), 3.0)
    watch = np.maximum(watch, np.array(arr[3], dtype=np.float64)).astype(np.float32)
    author = np.array(arr[8], dtype=np.int64)
    follows: dict[int, set[int]] = defaultdict(set)
    follow_at: dict[tuple[int, int], float] = {}
    from apps.core.ids import id_created_at

    for fid, a, b in Follow.objects.values_list("id", "follower_id", "followee_id").iterator(
            10000):
        follows[int(a)].add(int(b))
        follow_at[(int(a), int(b))] = id_created_at(int(fid)).timestamp()
    # A follow "from" an interaction: made within a day after it.
    followed = np.array([0 <= follow_at.get((u, a), -1e18) - t <= 86400 for u, a, t in zip(
        user.tolist(), author.tolist(), ts.tolist(), strict=True)], dtype=bool)
    ev = Events(user=user, post=post, ts=ts, watch=watch,
                completed=np.array(arr[6], dtype=bool), liked=np.array(arr[7], dtype=bool),
                followed=followed)
    post_ids = np.unique(post).tolist()
    metas: list[dict[str, Any]] = []
    for start in range(0, len(post_ids), 20000):
        metas += meta_rows(Post.objects.filter(pk__in=post_ids[start:start + 20000]))
    from apps.feed.interactions import PostStats

    cat = Catalogue.from_rows(metas, stats=PostStats())
    matrix = np.zeros((len(cat), EMBEDDING_DIM), dtype=np.float32)
    for pid, vec in embeddings_of(post_ids).items():
        if pid in cat.index:
            matrix[cat.index[pid]] = vec
    cat.vectors = matrix
    from apps.accounts.models import User

    languages = {int(u): (lang or "").split("-")[0].lower() for u, lang in User.objects.filter(
        pk__in=np.unique(user).tolist()).values_list("id", "language").iterator(10000)}
    return ev, cat, dict(follows), languages


def user_countries(ev: Events) -> dict[int, str]:
    """The countries of the users in `ev` (the region feature), where they gave one."""
    from apps.accounts.models import User

    return {int(u): country.upper() for u, country in User.objects.filter(
        pk__in=np.unique(ev.user).tolist()).exclude(country="").values_list(
        "id", "country").iterator(10000)}
