"""Ranking the visible candidates for one viewer: text relevance mixed with popularity,
freshness (videos) and the viewer's relation to the account. Every weight is here.

score = TEXT * relevance (0..1, from retrieval)
      + POPULARITY * log-scaled followers / views / uses (0..1)
      + VERIFIED * the account (or the video's author) is verified
      + FOLLOWED * the viewer follows the account (or the video's author)
      + WATCHED * the viewer's share of completed/liked videos by this creator (0..1)
      + FRESH * the video's freshness (halves every FRESH_HALF_LIFE_DAYS)
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Hashtag, Sound
from apps.search.selectors import VideoFacts

# Why these numbers: text relevance leads (a result must be about the query), but a
# near-tie on the text is decided by who the result is. Following (0.5) and watching (up to
# 0.35) are the viewer saying "this one": they outweigh popularity, so the account you
# follow comes before a famous namesake. Verification and popularity together (0.25 + up to
# 0.4) outweigh the one-letter difference an impersonator's handle costs in relevance
# ("charIidamelio" is a typo away from "charlidamelio", scoring well below 1), so the
# verified, followed-by-millions account ranks above its look-alikes. Freshness is a light
# tie-breaker between equally relevant videos.
TEXT = 1.0
POPULARITY = 0.4
VERIFIED = 0.25
FOLLOWED = 0.5
WATCHED = 0.35
FRESH = 0.15
FRESH_HALF_LIFE_DAYS = 30.0
# Followers, views or uses at which the popularity term saturates (log-scaled below it).
POPULARITY_SATURATION = 10_000_000


@dataclass(frozen=True)
class ViewerSignals:
    """What ranking knows of the viewer beyond the rows' own annotations (`you_follow`,
    `author_followed`): the creators whose videos they finished or liked."""

    watched: Counter[int] | None = None  # creator id -> completed/liked videos

    def watched_share(self, creator_id: int) -> float:
        if not self.watched:
            return 0.0
        return self.watched.get(creator_id, 0) / max(self.watched.values())


def popularity(count: int) -> float:
    return min(1.0, math.log1p(max(count, 0)) / math.log1p(POPULARITY_SATURATION))


def freshness(created_at: datetime | None, *, now: datetime | None = None) -> float:
    if created_at is None:
        return 0.0
    age_days = max(0.0, ((now or timezone.now()) - created_at).total_seconds() / 86400)
    return float(0.5 ** (age_days / FRESH_HALF_LIFE_DAYS))


def account_score(user: User, relevance: float, viewer: ViewerSignals) -> float:
    return (TEXT * relevance + POPULARITY * popularity(user.followers_count)
            + VERIFIED * user.is_verified
            + FOLLOWED * bool(getattr(user, "you_follow", False))
            + WATCHED * viewer.watched_share(user.pk))


def video_score(video: VideoFacts, relevance: float, viewer: ViewerSignals,
                *, now: datetime | None = None) -> float:
    return (TEXT * relevance + POPULARITY * popularity(video.views_count)
            + VERIFIED * video.author_verified
            + FOLLOWED * video.author_followed
            + WATCHED * viewer.watched_share(video.author_id)
            + FRESH * freshness(video.published_at or video.created_at, now=now))


def sound_score(sound: Sound, relevance: float) -> float:
    return TEXT * relevance + POPULARITY * popularity(sound.posts_count)


def hashtag_score(tag: Hashtag, relevance: float) -> float:
    return TEXT * relevance + POPULARITY * popularity(tag.posts_count)
