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


def factorise(ev: Events, *, factors: int = FACTORS) -> tuple[dict[int, np.ndarray],
                                                              dict[int, np.ndarray]]:
    """Collaborative embeddings: a truncated SVD of the confidence-weighted user x post
    matrix (implicit feedback: watched fraction, completions and likes raise confidence)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import svds

    if len(ev) == 0:
        return {}, {}
    users, u_idx = np.unique(ev.user, return_inverse=True)
    posts, p_idx = np.unique(ev.post, return_inverse=True)
    k = min(factors, min(len(users), len(posts)) - 1)
    if k < 2:
        return {}, {}
    conf = (np.minimum(ev.watch, 1.0) + 2.0 * ev.completed + 2.0 * ev.liked
            - 0.5).astype(np.float32)
    matrix = csr_matrix((conf, (u_idx, p_idx)), shape=(len(users), len(posts)))
    u, s, vt = svds(matrix, k=k, random_state=SEED)
    root = np.sqrt(s)
    uf = (u * root).astype(np.float32)
    vf = (vt.T * root).astype(np.float32)
    if k < factors:  # keep one width for every model
        uf = np.pad(uf, ((0, 0), (0, factors - k)))
        vf = np.pad(vf, ((0, 0), (0, factors - k)))
    return ({int(x): uf[i] for i, x in enumerate(users.tolist())},
            {int(x): vf[i] for i, x in enumerate(posts.tolist())})


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
    return hist
