"""Serving: For You (candidates → ranking → re-ranking → page) and Following.

A request reads the cached pools (in process memory), a handful of indexed rows about the
viewer, and at most one pgvector search; everything else is numpy. Each stage degrades on
its own: no Redis → no seen-set (the cursor still carries what this chain served) and
locally built pools; no model or a model that fails → the heuristic ranking; no
embeddings → no similarity source. The page still answers.
One module per stage: `viewer` (`viewer_context`), `sources` (the per-viewer candidate
reads and collaborative scores), `scoring` (`score`: stages 1 and 2; the per-viewer cache),
`gate` (`allowed`, `hydrate`, `with_viewer_flags`), `pages` (`for_you`, `following`,
`following_posts`). This package re-exports the names callers use.
"""

from apps.feed.serving.gate import allowed, hydrate, with_viewer_flags
from apps.feed.serving.pages import ClientHints, Page, following, following_posts, for_you
from apps.feed.serving.scoring import Scored, forget_scored, score
from apps.feed.serving.viewer import viewer_context

__all__ = [
    "ClientHints",
    "Page",
    "Scored",
    "allowed",
    "following",
    "following_posts",
    "for_you",
    "forget_scored",
    "hydrate",
    "score",
    "viewer_context",
    "with_viewer_flags",
]
