"""Onboarding topics and the hashtags each maps to (cold start reads these)."""

from __future__ import annotations

from collections.abc import Iterable

TOPICS: dict[str, dict[str, object]] = {
    "comedy": {"label": "Comedy", "hashtags": ["comedy", "funny", "meme", "prank", "skit"]},
    "dance": {"label": "Dance", "hashtags": ["dance", "dancechallenge", "choreography"]},
    "music": {"label": "Music", "hashtags": ["music", "singing", "cover", "guitar", "piano"]},
    "food": {"label": "Food", "hashtags": ["food", "recipe", "cooking", "baking", "foodie"]},
    "sports": {"label": "Sports", "hashtags": ["sports", "football", "soccer", "basketball",
                                               "fitness"]},
    "gaming": {"label": "Gaming", "hashtags": ["gaming", "gamer", "videogames", "esports"]},
    "beauty": {"label": "Beauty", "hashtags": ["beauty", "makeup", "skincare", "hair"]},
    "fashion": {"label": "Fashion", "hashtags": ["fashion", "outfit", "style", "ootd"]},
    "travel": {"label": "Travel", "hashtags": ["travel", "wanderlust", "vacation", "nature"]},
    "animals": {"label": "Animals", "hashtags": ["animals", "pets", "dog", "cat", "cute"]},
    "diy": {"label": "DIY & crafts", "hashtags": ["diy", "crafts", "lifehack", "howto"]},
    "science": {"label": "Science & tech", "hashtags": ["science", "tech", "learn", "space"]},
    "art": {"label": "Art", "hashtags": ["art", "drawing", "painting", "design"]},
    "cars": {"label": "Cars", "hashtags": ["cars", "car", "automotive", "racing"]},
}

MAX_INTERESTS = len(TOPICS)


def hashtags_for(interests: list[str]) -> list[str]:
    """The lower-cased hashtags behind a user's chosen topics (unknown topics ignored)."""
    out: dict[str, None] = {}
    for topic in interests:
        spec = TOPICS.get(topic)
        if spec is None:
            continue
        for tag in spec["hashtags"]:  # type: ignore[attr-defined]
            out.setdefault(str(tag), None)
    return list(out)


# The inverse of the table above: each hashtag's topics. A post's topics are those of its
# hashtags (how cold start matches interests to posts); ads' contextual topic targeting
# reads a slot's topic from its neighbouring posts through `topics_of` (one rule).
_TOPICS_OF_TAG: dict[str, frozenset[str]] = {}
for _topic, _spec in TOPICS.items():
    for _tag in _spec["hashtags"]:  # type: ignore[attr-defined]
        _TOPICS_OF_TAG[str(_tag)] = _TOPICS_OF_TAG.get(str(_tag), frozenset()) | {_topic}


def topics_of(hashtags: Iterable[str]) -> frozenset[str]:
    """The topics of a post with these hashtags (lower-cased names; unknown tags ignored)."""
    out: frozenset[str] = frozenset()
    for tag in hashtags:
        found = _TOPICS_OF_TAG.get(tag.lower())
        if found:
            out |= found
    return out
