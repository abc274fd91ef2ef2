"""Interactions as arrays (`Events`) and what features may know at a time cut (`History`,
with the collaborative factors)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from apps.feed.artifacts import FACTORS
from apps.feed.training._common import SEED


@dataclass
class Events:
    """One row per (user, post) interaction: when, how much was watched, what followed."""

    user: np.ndarray  # int64
    post: np.ndarray  # int64 (post ids)
    ts: np.ndarray  # float64 epoch seconds
    watch: np.ndarray  # float32 watched fraction (loops count: up to 3)
    completed: np.ndarray  # bool
    liked: np.ndarray  # bool
    followed: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.user)

    def select(self, mask: np.ndarray) -> Events:
        return Events(self.user[mask], self.post[mask], self.ts[mask], self.watch[mask],
                      self.completed[mask], self.liked[mask], self.followed[mask])


@dataclass
class History:
    """What features may know at a point in time."""

    positives: dict[int, list[int]]  # user -> post ids completed or liked (oldest first)
    plays: dict[int, float]
    likes: dict[int, float]
    impressions: dict[int, float]
    completions: dict[int, float]
    recent: dict[int, float]  # completions in the last day before the cut (trend proxy)
    cf_users: dict[int, np.ndarray] = field(default_factory=dict)
    cf_items: dict[int, np.ndarray] = field(default_factory=dict)
    coengaged: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


ALS_ITERATIONS = 15
ALS_REGULARIZATION = 0.05
COENGAGED_K = 50  # neighbours kept per post
COENGAGED_SHRINK = 5.0  # damps similarities resting on few common viewers
COENGAGED_PER_USER = 200  # a user's most recent positives counted


def factorise(ev: Events, *, factors: int = FACTORS) -> tuple[dict[int, np.ndarray],
                                                              dict[int, np.ndarray]]:
    """Collaborative embeddings: implicit ALS (the `implicit` package) on the user x post
    matrix of engaged views (completed, liked or watched at least half), confidence rising
    with the watched fraction, a completion and a like. Skips are left out: ALS reads
    every entry as a preference."""
    from implicit.als import AlternatingLeastSquares  # type: ignore[import-untyped]
    from scipy.sparse import csr_matrix

    engaged = ev.select(ev.completed | ev.liked | (ev.watch >= 0.5)) if len(ev) else ev
    if len(engaged) == 0:
        return {}, {}
    users, u_idx = np.unique(engaged.user, return_inverse=True)
    posts, p_idx = np.unique(engaged.post, return_inverse=True)
    if min(len(users), len(posts)) < 2:
        return {}, {}
    conf = (np.minimum(engaged.watch, 1.0) + 2.0 * engaged.completed + 2.0 * engaged.liked
            ).astype(np.float32)
    matrix = csr_matrix((conf, (u_idx, p_idx)), shape=(len(users), len(posts)))
    model = AlternatingLeastSquares(factors=factors, regularization=ALS_REGULARIZATION,
                                    iterations=ALS_ITERATIONS, random_state=SEED,
                                    num_threads=1)
    model.fit(matrix, show_progress=False)
    uf = np.asarray(model.user_factors, dtype=np.float32)[:, :factors]
    vf = np.asarray(model.item_factors, dtype=np.float32)[:, :factors]
    return ({int(x): uf[i] for i, x in enumerate(users.tolist())},
            {int(x): vf[i] for i, x in enumerate(posts.tolist())})


def coengagement(ev: Events, *, k: int = COENGAGED_K
                 ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """"People who finished this also finished...": per post, the k posts most often
    completed or liked by the same users (cosine over users, shrunk toward zero when few
    users share them), as (post ids, similarities), best first."""
    from scipy.sparse import csr_matrix

    good = ev.select(ev.completed | ev.liked) if len(ev) else ev
    if len(good) == 0:
        return {}
    order = np.lexsort((-good.ts, good.user))
    good = good.select(order)
    # Each user's most recent positives only (a heavy user would dominate every pair).
    first = np.r_[0, np.flatnonzero(np.diff(good.user)) + 1]
    rank = np.arange(len(good)) - np.repeat(first, np.diff(np.r_[first, len(good)]))
    good = good.select(rank < COENGAGED_PER_USER)
    users, u_idx = np.unique(good.user, return_inverse=True)
    posts, p_idx = np.unique(good.post, return_inverse=True)
    x = csr_matrix((np.ones(len(good), np.float32), (u_idx, p_idx)),
                   shape=(len(users), len(posts)))
    x.data[:] = 1.0  # repeated (user, post) rows count once
    degree = np.asarray(x.sum(axis=0)).ravel()
    co = (x.T @ x).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in range(len(posts)):
        lo, hi = co.indptr[i], co.indptr[i + 1]
        if lo == hi:
            continue
        cols = co.indices[lo:hi]
        sims = co.data[lo:hi] / (np.sqrt(degree[i] * degree[cols]) + COENGAGED_SHRINK)
        best = np.argsort(-sims, kind="stable")[:k]
        out[int(posts[i])] = (posts[cols[best]].astype(np.int64), sims[best].astype(np.float32))
    return out


def history_of(ev: Events, *, cut: float, with_cf: bool = True) -> History:
    mask = ev.ts < cut
    h = ev.select(mask)
    order = np.argsort(h.ts, kind="stable")
    positives: dict[int, list[int]] = defaultdict(list)
    good = (h.completed | h.liked)[order]
    for u, p, g in zip(h.user[order].tolist(), h.post[order].tolist(), good.tolist(),
                       strict=True):
        if g:
            positives[u].append(p)
    plays: Counter[int] = Counter(h.post.tolist())
    likes: Counter[int] = Counter(h.post[h.liked].tolist())
    comps: Counter[int] = Counter(h.post[h.completed].tolist())
    recent: Counter[int] = Counter(h.post[h.completed & (h.ts >= cut - 86400)].tolist())
    hist = History(positives=dict(positives), plays=dict(plays), likes=dict(likes),
                   impressions=dict(plays), completions=dict(comps), recent=dict(recent))
    if with_cf:
        hist.cf_users, hist.cf_items = factorise(h)
        hist.coengaged = coengagement(h)
    return hist
