"""A long scroll (issue 21): the candidate budget is counted before the seen filter, so a
viewer who has seen everything the sources propose is offered the pooled posts they did
not propose, and the feed does not run dry while the pools have more. Pure functions."""

from __future__ import annotations

from collections import Counter

from apps.feed import candidates
from apps.feed.candidates import SOURCES, ViewerContext
from apps.feed.pools import draw
from apps.feed.serving import score
from tests.feed.test_retrieval import NOW, catalogue, recording_model


def test_a_viewer_who_has_seen_all_the_sources_propose_is_offered_the_rest_of_the_pools() -> None:
    p = draw(catalogue(3000, seed=6), now=NOW)
    ctx = ViewerContext(user_id=7, language="en", positive_tags=Counter({"t1": 3}))
    first = score(p, ctx, model=None, now=NOW)
    seen = set(first.cs.cat.ids.tolist())  # everything the sources propose
    assert first.generated == candidates.CANDIDATE_BUDGET
    asked: list[list[int]] = []

    def seen_sets(ids: list[int]) -> set[int]:
        asked.append(list(ids))
        return {i for i in ids if i in seen}

    model, head = recording_model()
    scored = score(p, ctx, model=model, now=NOW, seen=seen_sets)
    kept = scored.cs.cat.ids.tolist()
    assert len(kept) >= candidates.REFILL_BELOW
    assert len(kept) == len(set(kept))
    assert not set(kept) & seen
    assert set(kept) <= set(p.catalogue.ids.tolist())
    # The refill was asked about in one more round trip, never about a post twice.
    assert len(asked) == 2
    assert not set(asked[0]) & set(asked[1])
    assert scored.generated == len(asked[0]) + len(asked[1])
    # Still eligible (no age-restricted post for a minor) and scored by the ranker,
    # flagged by the pools they came from.
    restricted = set(p.catalogue.ids[p.catalogue.restricted].tolist())
    assert not set(kept) & restricted
    assert head.rows > 0
    flags = scored.cs.src[:, [SOURCES.index("trending"), SOURCES.index("explore")]]
    assert flags.any(axis=1).all()


def test_a_viewer_with_enough_unseen_candidates_is_asked_about_once() -> None:
    p = draw(catalogue(3000, seed=6), now=NOW)
    ctx = ViewerContext(user_id=7, language="en", positive_tags=Counter({"t1": 3}))
    asked: list[list[int]] = []

    def seen_sets(ids: list[int]) -> set[int]:
        asked.append(list(ids))
        return set(ids[: len(ids) // 2])

    scored = score(p, ctx, model=None, now=NOW, seen=seen_sets)
    assert len(asked) == 1
    assert len(scored.cs) >= candidates.REFILL_BELOW
    assert scored.generated == len(asked[0])
