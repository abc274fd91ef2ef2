"""Which For You positions carry an ad, and brand safety around them (pure).

- Ad load: at most one ad per N organic posts, N drawn per slot between the staff's
  minimum and maximum gap (default 6-8): an ad comes only after at least N organic posts
  since the previous one, counted across pages (the feed's cursor carries the count and
  the drawn gap), so two ads are never in a row.
- An ad sits *between* two organic posts of the same page (never first or last on a page:
  both neighbours must be known).
- Never adjacent to a post flagged sensitive (moderation's age restriction): the slot moves
  on to the next position whose neighbours are both clean; if none is left on the page it
  waits for the next page.
- Inventory tiers (the campaign's choice): `full` and `standard` ads go in any such slot;
  `limited` ads only where neither neighbour carries a mature-themed hashtag
  (`SWIPEME_ADS_MATURE_HASHTAGS`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

DEFAULT_MATURE_HASHTAGS = frozenset(
    {
        "horror",
        "fight",
        "fights",
        "boxing",
        "mma",
        "drinking",
        "party",
        "nsfw",
        "gore",
        "crime",
        "truecrime",
        "war",
        "guns",
        "prank",
        "pranks",
    }
)


@dataclass(frozen=True)
class SlotPost:
    """What brand safety needs to know about one organic post of the page."""

    post_id: int
    sensitive: bool
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slot:
    index: int  # the ad goes before posts[index] of the page (1 <= index < len(posts))
    allows_limited: bool  # both neighbours clean of mature themes


@dataclass(frozen=True)
class AdLoad:
    min_gap: int = 6
    max_gap: int = 8

    def draw(self, rng: random.Random) -> int:
        low = max(1, self.min_gap)
        return rng.randint(low, max(low, self.max_gap))


def _mature(post: SlotPost) -> bool:
    tags = getattr(settings, "SWIPEME_ADS_MATURE_HASHTAGS", DEFAULT_MATURE_HASHTAGS)
    return any(t.lower() in tags for t in post.hashtags)


def plan(
    posts: Sequence[SlotPost], *, since_last_ad: int, gap: int, load: AdLoad, rng: random.Random
) -> tuple[list[Slot], int, int]:
    """The page's ad slots, and the (since_last_ad, gap) to carry to the next page, assuming
    every slot is filled (the caller calls `after_page` with the slots actually filled)."""
    slots: list[Slot] = []
    since = since_last_ad
    want = gap if gap > 0 else load.draw(rng)
    for index in range(len(posts) + 1):
        if index > 0:
            since += 1
        if since < want or index == 0 or index >= len(posts):
            continue
        before, after = posts[index - 1], posts[index]
        if before.sensitive or after.sensitive:
            continue  # slide to the next position with clean neighbours
        slots.append(Slot(index=index, allows_limited=not (_mature(before) or _mature(after))))
        since = 0
        want = load.draw(rng)
    return slots, since, want


def after_page(
    page_len: int,
    filled: Sequence[int],
    *,
    since_last_ad: int,
    gap: int,
    load: AdLoad,
    rng: random.Random,
) -> tuple[int, int]:
    """(since_last_ad, gap) for the next page given the slot indexes actually filled: an
    empty slot does not count as an ad (the next page may carry one)."""
    if not filled:
        return since_last_ad + page_len, gap if gap > 0 else load.draw(rng)
    return page_len - max(filled), load.draw(rng)
