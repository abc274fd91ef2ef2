"""Assertions shared by the social tests."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import User
from apps.social.models import Block, Follow, FollowRequest, Mute


def graph_snapshot() -> dict[str, Any]:
    """Everything a graph write could change: every edge and every user's counters."""
    return {
        "follows": set(Follow.objects.values_list("follower_id", "followee_id")),
        "requests": set(FollowRequest.objects.values_list("requester_id", "target_id")),
        "blocks": set(Block.objects.values_list("blocker_id", "blocked_id")),
        "mutes": set(Mute.objects.values_list("muter_id", "muted_id")),
        "counters": set(User.objects.values_list("id", "followers_count", "following_count")),
    }


def assert_counters_match_rows() -> None:
    for user in User.objects.all():
        assert user.followers_count == Follow.objects.filter(followee=user).count(), user
        assert user.following_count == Follow.objects.filter(follower=user).count(), user


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]
