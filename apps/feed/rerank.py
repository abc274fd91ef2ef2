"""Stage 3 of For You: re-ranking.

Drops what the viewer has seen (the Redis seen-set, the pages already served under this
cursor) or said "not interested" to, damps authors, sounds and hashtags they said "not
interested" to (fatigue), boosts freshness, then fills the page greedily: no creator twice
within a window, caps per sound and hashtag, and exploration slots filled by Thompson
sampling on new posts' early completion rates. Safety (removed, age-restricted for minors,
limited reach, blocks, mutes) is enforced in SQL on the shortlist before arranging, so the
arrangement rules hold on what is actually served."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apps.feed.candidates import SRC, CandidateSet, ViewerContext
from apps.feed.pools import top_k

CREATOR_WINDOW = 5
SOUND_CAP = 2
HASHTAG_CAP = 3
# Freshness is a nudge for the last few hours' posts, not a second ranker: at +25 % with
# a 24 h half-life, 77 % of the top 10 were under a day old (15 % in the ranker's order)
# and NDCG@10 fell; +5 % with a 6 h half-life cost nothing measurable (bench/reco_offline.py
# --split tune --tune-rerank, the 225 tune users only; docs/benchmarks.md).
FRESH_BOOST = 0.05
FRESH_HALF_LIFE_H = 6.0
FATIGUE_AUTHOR = 0.2
FATIGUE_SOUND = 0.5
FATIGUE_TAG = 0.7
# Page positions (0-based, cycling every 8) that go to exploration when a candidate is left.
EXPLORE_POSITIONS = frozenset({3, 7})
EXPLORE_TAKE = 12
# The shortlist takes this many pages' worth of the best candidates: with three, a page
# whose best rows share a hashtag or sound ran out of rows that fit the caps and filled
# ranked slots with exploration rows, or relaxed the caps; six fill them from the next
# ranked rows (tune users: the arranged page's NDCG@10 0.0104 -> 0.0114).
SHORTLIST_PAGES = 6


@dataclass
class Adjusted:
    scores: np.ndarray
    keep: np.ndarray  # bool: not seen, not excluded, not disliked, not own
    notes: dict[int, list[str]] = field(default_factory=dict)


def adjust(cs: CandidateSet, base: np.ndarray, ctx: ViewerContext, *, seen: set[int],
           now: float) -> Adjusted:
    cat = cs.cat
    ids = cat.ids
    blocked_ids = seen | ctx.exclude | ctx.ni_posts | set(ctx.positives)
    keep = ~np.isin(ids, np.fromiter(blocked_ids, np.int64)) if blocked_ids \
        else np.ones(len(ids), dtype=bool)
    if ctx.user_id is not None:
        keep &= cat.author != ctx.user_id
    if not ctx.adult and cat.restricted is not None:
        keep &= ~cat.restricted
    age_h = np.maximum((now - cat.published) / 3600.0, 0.0)
    fresh = 1.0 + FRESH_BOOST * np.power(0.5, age_h / FRESH_HALF_LIFE_H)
    # Shift so that every score is positive before multiplying (heads can be near zero).
    scores = (base - float(base.min(initial=0.0)) + 1e-3) * fresh
    notes: dict[int, list[str]] = {}
    if ctx.ni_authors or ctx.ni_sounds or ctx.ni_tags:
        factor = np.ones(len(ids), dtype=np.float32)
        for i in range(len(ids)):
            f = 1.0
            if ctx.ni_authors.get(int(cat.author[i])):
                f *= FATIGUE_AUTHOR
            if cat.sound[i] and ctx.ni_sounds.get(int(cat.sound[i])):
                f *= FATIGUE_SOUND
            if any(ctx.ni_tags.get(t) for t in cat.hashtags[i]):
                f *= FATIGUE_TAG
            if f < 1.0:
                factor[i] = f
                notes.setdefault(i, []).append(f"fatigue x{f:.2f}")
        # Damp by the factor and push down by (1 - factor) of the best score, so a strong
        # fatigue (the creator) sinks below everything else rather than a few places.
        top = float(scores.max(initial=0.0))
        scores = scores * factor - (1.0 - factor) * top
    return Adjusted(scores=scores.astype(np.float32), keep=keep, notes=notes)


def _best_size(limit: int) -> int:
    """How many of the best candidates the shortlist takes (SHORTLIST_PAGES pages' worth)."""
    return max(limit * SHORTLIST_PAGES, 16)


def worth_checking(cs: CandidateSet, adj: Adjusted, *, limit: int,
                   rng: np.random.Generator, deep: bool = False) -> np.ndarray:
    """The candidates that could make this page, to ask the seen-sets about: the best by
    adjusted score (a few pages' worth) and the exploration rows a first Thompson draw
    favours (the shortlist draws again among those left). `deep`: many pages' worth and
    the whole exploration pool, for a viewer who has seen most of the first answer."""
    live = np.flatnonzero(adj.keep)
    depth = max(limit * 25, 200) if deep else max(limit * (SHORTLIST_PAGES + 3), 48)
    best = live[top_k(adj.scores[live], depth)]
    explore = live[cs.src[live, SRC["explore"]] == 1]
    if not deep and len(explore) > 4 * EXPLORE_TAKE:
        explore = explore[np.argsort(-thompson(cs, explore, rng))[: 4 * EXPLORE_TAKE]]
    return np.union1d(best, explore)


def too_few_left(cs: CandidateSet, adj: Adjusted, *, checked: np.ndarray, seen: set[int],
                 limit: int) -> bool:
    """Whether the unseen among the checked rows are too few for this page (the shortlist
    wants three pages' worth), so the seen-sets should be asked about more."""
    unseen = checked[~np.isin(cs.cat.ids[checked], np.fromiter(seen, np.int64))] if seen \
        else checked
    return len(unseen) < _best_size(limit) + EXPLORE_TAKE


def drop_unchecked_or_seen(cs: CandidateSet, adj: Adjusted, *, checked: np.ndarray,
                           seen: set[int]) -> None:
    mask = np.zeros(len(adj.keep), dtype=bool)
    mask[checked] = True
    if seen:
        mask &= ~np.isin(cs.cat.ids, np.fromiter(seen, np.int64))
    adj.keep &= mask


def thompson(cs: CandidateSet, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sampled completion rates of candidate rows: Beta(1 + completions, 1 + misses)."""
    cat = cs.cat
    comp = cat.completions[rows].astype(np.float64)
    imp = np.maximum(cat.impressions[rows].astype(np.float64), comp)
    out: np.ndarray = rng.beta(1.0 + comp, 1.0 + imp - comp)
    return out


def shortlist(cs: CandidateSet, adj: Adjusted, *, limit: int,
              rng: np.random.Generator) -> tuple[list[int], dict[int, float]]:
    """Rows worth fetching for this page: the best by adjusted score (a few pages' worth,
    so the arrangement rules and the safety filter have room) plus the exploration pool's
    Thompson draws. Returns candidate rows and each exploration row's sampled rate."""
    live = np.flatnonzero(adj.keep)
    best = live[top_k(adj.scores[live], _best_size(limit))]
    explore = live[cs.src[live, SRC["explore"]] == 1]
    # Exploration is for the unknown, not for what the viewer pushed away.
    explore = np.array([r for r in explore.tolist() if r not in adj.notes], dtype=np.int64)
    draws: dict[int, float] = {}
    if len(explore):
        sampled = thompson(cs, explore, rng)
        top = np.argsort(-sampled)[:EXPLORE_TAKE]
        draws = {int(explore[i]): float(sampled[i]) for i in top.tolist()}
    rows = list(dict.fromkeys([*best.tolist(), *draws]))
    return rows, draws


def arrange(cs: CandidateSet, adj: Adjusted, rows: list[int], *, limit: int,
            draws: dict[int, float], recent_authors: list[int] | None = None
            ) -> list[tuple[int, dict[str, Any]]]:
    """Fill the page in order. Each chosen row comes with what re-ranking did to it."""
    cat = cs.cat
    ordered = sorted(rows, key=lambda r: -float(adj.scores[r]))
    explore_order = sorted(draws, key=lambda r: -draws[r])
    authors: list[int] = list(recent_authors or [])[-(CREATOR_WINDOW - 1):] \
        if CREATOR_WINDOW > 1 else []
    sounds: dict[int, int] = {}
    tags: dict[str, int] = {}
    used: set[int] = set()
    page: list[tuple[int, dict[str, Any]]] = []
    skipped: dict[int, str] = {}

    def fits(r: int) -> str | None:
        if int(cat.author[r]) in authors[-(CREATOR_WINDOW - 1):]:
            return "creator window"
        s = int(cat.sound[r])
        if s and sounds.get(s, 0) >= SOUND_CAP:
            return "sound cap"
        if any(tags.get(t, 0) >= HASHTAG_CAP for t in cat.hashtags[r]):
            return "hashtag cap"
        return None

    def take(r: int, slot: str) -> None:
        used.add(r)
        authors.append(int(cat.author[r]))
        s = int(cat.sound[r])
        if s:
            sounds[s] = sounds.get(s, 0) + 1
        for t in set(cat.hashtags[r]):
            tags[t] = tags.get(t, 0) + 1
        info: dict[str, Any] = {"slot": slot, "adjusted": round(float(adj.scores[r]), 5)}
        if r in draws:
            info["thompson"] = round(draws[r], 4)
        notes = [*adj.notes.get(r, [])]
        if r in skipped:
            notes.append(f"delayed by {skipped[r]}")
        if notes:
            info["notes"] = notes
        page.append((r, info))

    while len(page) < limit:
        position = len(page)
        picked = None
        if position % 8 in EXPLORE_POSITIONS:
            for r in explore_order:
                if r not in used and fits(r) is None:
                    picked = (r, "explore")
                    break
        if picked is None:
            for r in ordered:
                if r in used or adj.scores[r] <= 0:  # sunk by fatigue: only as a last resort
                    continue
                why = fits(r)
                if why is None:
                    picked = (r, "ranked")
                    break
                skipped.setdefault(r, why)
        if picked is None:
            # Rules cannot all hold with what is left: relax rather than serve a short page.
            # the creator window is never relaxed: a shorter page instead.
            window = authors[-(CREATOR_WINDOW - 1):]
            rest = [r for r in ordered if r not in used and int(cat.author[r]) not in window]
            if not rest:
                break
            picked = (rest[0], "relaxed caps")
        take(*picked)
    return page
