"""What the feed knows about the viewer: follows, interests, "not interested" marks and
the online dislikes; the positives described when the candidates need them."""

from __future__ import annotations

import numpy as np

from apps.accounts.models import User
from apps.content.audience import may_see_age_restricted
from apps.feed import interactions
from apps.feed.candidates import ViewerContext
from apps.feed.pools import Catalogue
from apps.feed.serving import sources
from apps.feed.topics import hashtags_for

MAX_FOLLOWS_READ = 5000


def viewer_context(viewer: User | None, *, session_id: str | None = None) -> ViewerContext:
    """What the feed knows about the viewer. The positives are described (their authors,
    tags and taste vector) only when stages 1 and 2 run (`_score_for`)."""
    disliked = interactions.online_dislikes(user_id=viewer.pk if viewer else None,
                                            session_id=session_id)
    if viewer is None:
        ctx = ViewerContext(user_id=None)
        ctx.ni_authors.update(disliked.creators)
        ctx.ni_sounds.update(disliked.sounds)
        return ctx
    uid = int(viewer.pk)
    rows = interactions.viewer_rows(user_id=uid, max_follows=MAX_FOLLOWS_READ)
    ctx = ViewerContext(
        user_id=uid, adult=may_see_age_restricted(viewer),
        language=(viewer.language or "").split("-")[0].lower(), follows=rows.follows,
        country=(viewer.country or "").upper(),
        interest_tags=set(hashtags_for(rows.interests)), positives=rows.positives,
    )
    for post_id, author_id, sound_id, tags in rows.not_interested:
        ctx.ni_posts.add(post_id)
        ctx.ni_authors[author_id] += 1
        if sound_id:
            ctx.ni_sounds[sound_id] += 1
        for tag in tags:
            ctx.ni_tags[tag.lower()] += 1
    ctx.ni_posts |= rows.disliked_posts
    ctx.ni_authors.update(disliked.creators)
    ctx.ni_sounds.update(disliked.sounds)
    return ctx


def _describe_positives(ctx: ViewerContext, catalogue: Catalogue, stamp: str = "") -> None:
    """Authors, sounds, hashtags and the mean text embedding of what the viewer liked or
    completed (pooled posts from memory, the rest in one query each, or from memory when
    read since the pools with this stamp were drawn)."""

    if not ctx.positives:
        return
    vectors: list[np.ndarray] = []
    missing: list[int] = []
    for pid in ctx.positives:
        row = catalogue.index.get(pid)
        if row is None:
            missing.append(pid)
            continue
        ctx.positive_authors[int(catalogue.author[row])] += 1
        if catalogue.sound[row]:
            ctx.positive_sounds[int(catalogue.sound[row])] += 1
        for tag in catalogue.hashtags[row]:
            ctx.positive_tags[tag.lower()] += 1
        if catalogue.vectors is not None and catalogue.vectors[row].any():
            vectors.append(catalogue.vectors[row])
    if missing:
        described, rows = sources.described.rows(missing, stamp)
        for row in rows:
            ctx.positive_authors[int(described.author[row])] += 1
            if described.sound[row]:
                ctx.positive_sounds[int(described.sound[row])] += 1
            for tag in described.hashtags[row]:
                ctx.positive_tags[tag] += 1
        found = sources.vectors.get_many(missing, stamp)
        vectors.extend(found[pid] for pid in missing if pid in found)
    if vectors:
        mean = np.mean(np.vstack(vectors), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            ctx.profile = (mean / norm).astype(np.float32)
