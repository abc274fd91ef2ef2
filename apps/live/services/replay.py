"""The replay: after the live, the recording becomes a post through the VOD pipeline."""

from __future__ import annotations


def make_replay(live_id: int) -> int | None:
    """The replay post's id, or None when there is nothing to make (yet)."""
    return None
