"""Ranker training: from watch events to a versioned artefact with offline metrics.

Protocol (a time split, no peeking): events before T1 are the *history* (what the
features may know: each user's completions and likes, collaborative factors, post
statistics); events in [T1, T2) are the training rows (labels: completion, watched
fraction, like, follow); events from T2 on are held out, with features rebuilt from the
history before T2. Metrics on the held-out rows: AUC of the completion head, NDCG@10 over
each user's impressed posts (gain: watched fraction + like), recall@50 of each user's
completions among sampled catalogue candidates — for the ranker and for the popularity
and chronological baselines. The served artefact keeps the heads trained on [T1, T2) and
collaborative factors refitted on every event.

Everything here works on arrays (`Events`, a `Catalogue`), so the simulator in bench/
trains and serves with exactly this code; `load_events` reads them from the aggregates."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.db import connection, transaction

from apps.feed.artifacts import FACTORS, MODEL_FEATURES, dump_artifact
from apps.feed.candidates import SOURCES, CandidateSet, ViewerContext, take
from apps.feed.pools import Catalogue
from apps.feed.ranking import FEATURES, HEADS, weights

logger = logging.getLogger(__name__)

MAX_TRAIN_ROWS = 400_000
RECALL_USERS = 400
RECALL_NEGATIVES = 400
SEED = 7


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


def with_history_counters(cat: Catalogue, hist: History) -> Catalogue:
    """The catalogue as it looked at the cut: counters from the history only."""
    ids = cat.ids.tolist()
    f32 = np.float32
    out = take(cat, np.arange(len(cat)))
    out.views = np.array([hist.plays.get(p, 0.0) for p in ids], dtype=f32)
    out.likes = np.array([hist.likes.get(p, 0.0) for p in ids], dtype=f32)
    out.impressions = np.array([hist.impressions.get(p, 0.0) for p in ids], dtype=f32)
    out.completions = np.array([hist.completions.get(p, 0.0) for p in ids], dtype=f32)
    out.trend = np.array([hist.recent.get(p, 0.0) for p in ids], dtype=f32)
    out.comments = np.zeros(len(ids), dtype=f32)
    out.shares = np.zeros(len(ids), dtype=f32)
    return out


def context_for(user: int, hist: History, cat: Catalogue, *, follows: set[int],
                language: str = "", country: str = "",
                interest_tags: set[str] | None = None, keep: int = 30) -> ViewerContext:
    """The same context serving builds (serving.viewer_context), from a history."""
    ctx = ViewerContext(user_id=user, language=language, country=country, follows=follows,
                        interest_tags=interest_tags or set())
    ctx.positives = list(reversed(hist.positives.get(user, [])[-keep:]))
    vectors = []
    for pid in ctx.positives:
        row = cat.index.get(pid)
        if row is None:
            continue
        ctx.positive_authors[int(cat.author[row])] += 1
        if cat.sound[row]:
            ctx.positive_sounds[int(cat.sound[row])] += 1
        for tag in cat.hashtags[row]:
            ctx.positive_tags[tag.lower()] += 1
        if cat.vectors is not None and cat.vectors[row].any():
            vectors.append(cat.vectors[row])
    if vectors:
        mean = np.mean(np.vstack(vectors), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            ctx.profile = (mean / norm).astype(np.float32)
    ctx.cf_user = hist.cf_users.get(user)
    if ctx.cf_user is None:
        items = [hist.cf_items[p] for p in ctx.positives if p in hist.cf_items]
        if items:
            ctx.cf_user = np.mean(np.vstack(items), axis=0).astype(np.float32)
    return ctx


def candidate_set(cat: Catalogue, rows: np.ndarray, ctx: ViewerContext,
                  hist: History) -> CandidateSet:
    sub = take(cat, rows)
    text_sim = (sub.vectors @ ctx.profile).astype(np.float32) \
        if ctx.profile is not None and sub.vectors is not None else np.zeros(len(rows), np.float32)
    cf = np.zeros(len(rows), dtype=np.float32)
    if ctx.cf_user is not None:
        for i, pid in enumerate(sub.ids.tolist()):
            vec = hist.cf_items.get(pid)
            if vec is not None:
                cf[i] = float(vec @ ctx.cf_user)
    src = np.zeros((len(rows), len(SOURCES)), dtype=np.uint8)
    return CandidateSet(cat=sub, src=src, text_sim=text_sim, cf=cf)


def model_columns() -> list[int]:
    return [FEATURES.index(f) for f in MODEL_FEATURES]


@dataclass
class Dataset:
    x: np.ndarray
    user: np.ndarray
    post: np.ndarray
    labels: dict[str, np.ndarray]
    now: float


def build_dataset(ev: Events, cat: Catalogue, hist: History, *, now: float,
                  follows: dict[int, set[int]], languages: dict[int, str] | None = None,
                  countries: dict[int, str] | None = None) -> Dataset:
    """Feature rows for the events `ev`, with features from `hist` (same code as serving)."""
    from apps.feed.ranking import feature_matrix

    at_cut = with_history_counters(cat, hist)
    cols = model_columns()
    keep = np.array([p in at_cut.index for p in ev.post.tolist()], dtype=bool)
    ev = ev.select(keep)
    xs: list[np.ndarray] = []
    order: list[np.ndarray] = []
    by_user: dict[int, list[int]] = defaultdict(list)
    for i, u in enumerate(ev.user.tolist()):
        by_user[u].append(i)
    for u, idx in by_user.items():
        ctx = context_for(u, hist, at_cut, follows=follows.get(u, set()),
                          language=(languages or {}).get(u, ""),
                          country=(countries or {}).get(u, ""))
        rows = np.array([at_cut.index[int(p)] for p in ev.post[idx].tolist()], dtype=np.int64)
        cs = candidate_set(at_cut, rows, ctx, hist)
        xs.append(feature_matrix(cs, ctx, now=now)[:, cols])
        order.append(np.array(idx, dtype=np.int64))
    if not xs:
        empty = np.zeros((0, len(cols)), np.float32)
        return Dataset(empty, np.zeros(0, np.int64), np.zeros(0, np.int64),
                       {h: np.zeros(0) for h in HEADS}, now)
    perm = np.concatenate(order)
    x = np.vstack(xs)
    return Dataset(
        x=x, user=ev.user[perm], post=ev.post[perm], now=now,
        labels={"completion": ev.completed[perm].astype(np.int8),
                "watch": np.minimum(ev.watch[perm], 3.0).astype(np.float32),
                "like": ev.liked[perm].astype(np.int8),
                "follow": ev.followed[perm].astype(np.int8)},
    )


class _Constant:
    """A head with one class in its labels (e.g. nobody followed): predicts the base rate."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.full(len(x), self.value, dtype=np.float32)
        return np.stack([1 - p, p], axis=1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value, dtype=np.float32)


def fit_heads(ds: Dataset, *, n_jobs: int = 2) -> dict[str, Any]:
    import lightgbm as lgb

    params: dict[str, Any] = {"n_estimators": 120, "learning_rate": 0.05, "num_leaves": 31,
              "min_child_samples": 20, "subsample": 0.8, "subsample_freq": 1,
              "colsample_bytree": 0.9, "random_state": SEED, "n_jobs": n_jobs,
              "verbose": -1}
    heads: dict[str, Any] = {}
    for head in HEADS:
        y = ds.labels[head]
        if head == "watch":
            heads[head] = lgb.LGBMRegressor(**params).fit(ds.x, y)
        elif len(np.unique(y)) < 2:
            heads[head] = _Constant(float(y.mean()) if len(y) else 0.0)
        else:
            heads[head] = lgb.LGBMClassifier(**params).fit(ds.x, y)
    return heads


def combined(heads: dict[str, Any], x: np.ndarray, w: dict[str, float]) -> np.ndarray:
    total = np.zeros(len(x), dtype=np.float64)
    for head, est in heads.items():
        pred = est.predict(x) if head == "watch" else est.predict_proba(x)[:, 1]
        total += w.get(head, 0.0) * np.asarray(pred, dtype=np.float64)
    return total


# --- metrics ---


def _ndcg_at(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    order = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((gains[order] * discounts[: len(order)]).sum())
    ideal = np.sort(gains)[::-1][:k]
    idcg = float((ideal * discounts[: len(ideal)]).sum())
    return dcg / idcg if idcg > 0 else float("nan")


def ndcg_by_user(users: np.ndarray, scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    out = []
    for u in np.unique(users):
        mask = users == u
        if mask.sum() < 2:
            continue
        value = _ndcg_at(scores[mask], gains[mask], k)
        if not np.isnan(value):
            out.append(value)
    return float(np.mean(out)) if out else float("nan")


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


@dataclass
class Scorers:
    """The three policies compared offline, as functions of (dataset, catalogue)."""

    heads: dict[str, Any]
    popularity: dict[int, float]
    published: dict[int, float]


def evaluate(ds: Dataset, scorers: Scorers, *, recall_sets: dict[str, Any] | None = None,
             w: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
    w = w or weights()
    gains = np.minimum(ds.labels["watch"], 1.0) + ds.labels["like"]
    policy_scores = {
        "ranker": combined(scorers.heads, ds.x, w),
        "popularity": np.array([scorers.popularity.get(int(p), 0.0) for p in ds.post]),
        "chronological": np.array([scorers.published.get(int(p), 0.0) for p in ds.post]),
    }
    out: dict[str, dict[str, float]] = {}
    for name, s in policy_scores.items():
        out[name] = {"auc_completion": auc(ds.labels["completion"], s),
                     "ndcg@10": ndcg_by_user(ds.user, s, gains)}
    if recall_sets:
        for name, value in recall_sets.items():
            out[name]["recall@50"] = value
    return out


def recall_at_50(ev_test: Events, cat: Catalogue, hist: History, heads: dict[str, Any], *,
                 follows: dict[int, set[int]], now: float, rng: np.random.Generator,
                 w: dict[str, float]) -> dict[str, float]:
    """Per sampled test user: their completed posts plus random posts of the held-out
    period's catalogue (posts someone was shown then: sampling never-shown posts would
    reward popularity for mere exposure) that they did not complete, ranked by each
    policy; the share of their completions in the top 50."""
    from apps.feed.ranking import feature_matrix

    at_cut = with_history_counters(cat, hist)
    cols = model_columns()
    positives: dict[int, set[int]] = defaultdict(set)
    for u, p, c in zip(ev_test.user.tolist(), ev_test.post.tolist(),
                       ev_test.completed.tolist(), strict=True):
        if c and p in at_cut.index:
            positives[u].add(p)
    users = [u for u in positives if positives[u]]
    rng.shuffle(users)
    hits = {"ranker": [], "popularity": [], "chronological": []}  # type: dict[str, list[float]]
    shown = np.array(sorted({at_cut.index[p] for p in ev_test.post.tolist()
                             if p in at_cut.index}), dtype=np.int64)
    pop = at_cut.views + 3 * at_cut.likes
    for u in users[:RECALL_USERS]:
        pos_rows = [at_cut.index[p] for p in positives[u]]
        neg = rng.choice(shown, size=min(RECALL_NEGATIVES, len(shown)), replace=False)
        rows = np.unique(np.concatenate([np.array(pos_rows, np.int64), neg]))
        is_pos = np.isin(at_cut.ids[rows], np.fromiter(positives[u], np.int64))
        ctx = context_for(u, hist, at_cut, follows=follows.get(u, set()))
        cs = candidate_set(at_cut, rows, ctx, hist)
        x = feature_matrix(cs, ctx, now=now)[:, cols]
        for name, s in (("ranker", combined(heads, x, w)),
                        ("popularity", pop[rows] + 1e-6 * rng.random(len(rows))),
                        ("chronological", at_cut.published[rows])):
            top = np.argsort(-s, kind="stable")[:50]
            hits[name].append(float(is_pos[top].sum()) / float(is_pos.sum()))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in hits.items()}


# --- the whole run ---


@dataclass
class TrainResult:
    heads: dict[str, Any]
    metrics: dict[str, Any]
    cf_users: dict[int, np.ndarray]
    cf_items: dict[int, np.ndarray]
    trained_on: dict[str, Any]


def train(ev: Events, cat: Catalogue, *, follows: dict[int, set[int]],
          languages: dict[int, str] | None = None,
          countries: dict[int, str] | None = None, n_jobs: int = 2,
          split: tuple[float, float] = (0.5, 0.8)) -> TrainResult:
    """Split by time at the given quantiles of event time, fit, evaluate, refit factors."""
    started = time.time()
    rng = np.random.default_rng(SEED)
    if len(ev) < 50:
        raise ValueError("Not enough events to train a ranker (need at least 50).")
    t1, t2 = (float(np.quantile(ev.ts, q)) for q in split)
    hist1 = history_of(ev, cut=t1)
    train_ev = ev.select((ev.ts >= t1) & (ev.ts < t2))
    if len(train_ev) > MAX_TRAIN_ROWS:
        train_ev = train_ev.select(rng.random(len(train_ev)) < MAX_TRAIN_ROWS / len(train_ev))
    ds_train = build_dataset(train_ev, cat, hist1, now=t2, follows=follows,
                             languages=languages, countries=countries)
    heads = fit_heads(ds_train, n_jobs=n_jobs)
    hist2 = history_of(ev, cut=t2)
    test_ev = ev.select(ev.ts >= t2)
    ds_test = build_dataset(test_ev, cat, hist2, now=float(ev.ts.max()), follows=follows,
                            languages=languages, countries=countries)
    w = weights()
    at_t2 = with_history_counters(cat, hist2)
    scorers = Scorers(
        heads=heads,
        popularity={int(p): float(v + 3 * lk) for p, v, lk in zip(
            at_t2.ids.tolist(), at_t2.views.tolist(), at_t2.likes.tolist(), strict=True)},
        published={int(p): float(t) for p, t in zip(cat.ids.tolist(), cat.published.tolist(),
                                                    strict=True)},
    )
    recall = recall_at_50(test_ev, cat, hist2, heads, follows=follows, now=float(ev.ts.max()),
                          rng=rng, w=w)
    metrics: dict[str, Any] = evaluate(ds_test, scorers, recall_sets=recall, w=w)
    for head in ("like", "follow"):
        est = heads[head]
        metrics["ranker"][f"auc_{head}"] = auc(ds_test.labels[head],
                                               est.predict_proba(ds_test.x)[:, 1])
    cf_users, cf_items = factorise(ev)
    trained_on = {"events": len(ev), "train_rows": len(ds_train.x),
                  "test_rows": len(ds_test.x), "users": len(np.unique(ev.user)),
                  "posts": len(np.unique(ev.post)), "split_t1": t1, "split_t2": t2,
                  "features": list(MODEL_FEATURES), "weights": w,
                  "seconds": round(time.time() - started, 1)}
    return TrainResult(heads=heads, metrics=_clean(metrics), cf_users=cf_users,
                       cf_items=cf_items, trained_on=trained_on)


def _clean(value: Any) -> Any:
    """JSON-safe metrics (NaN → None, 4 decimals)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if np.isnan(value) else round(value, 4)
    return value


# --- storing the artefact (its format: apps.feed.artifacts) ---


def save_model(result: TrainResult) -> Any:
    """Store the artefact and its row (a new version, not active until staff choose it)."""
    from apps.feed.models import RankerModel

    with transaction.atomic():
        # Serialise version numbers between concurrent trainings.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7712001)")
        last = RankerModel.objects.order_by("-version").values_list("version", flat=True).first()
        version = (last or 0) + 1
        row = RankerModel(version=version, metrics=result.metrics,
                          feature_names=list(MODEL_FEATURES), trained_on=result.trained_on)
        row.artifact.save(f"ranker-v{version}.joblib", ContentFile(dump_artifact(result)),
                          save=False)
        row.save()
    return row


# --- reading the aggregates ---


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
