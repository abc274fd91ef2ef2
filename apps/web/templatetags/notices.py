"""Moderation told on the site's pages: why a removed post was removed (shown to its author).
The header's unread count is the inbox's (`inbox.unread_inbox`), moderation notices included."""

from __future__ import annotations

from typing import Any

from django import template

from apps.accounts.models import User
from apps.content.models import Post
from apps.moderation import conf as moderation_conf
from apps.moderation import selectors as moderation_selectors
from apps.moderation.models import TargetType
from apps.moderation.policies import Policy

register = template.Library()


@register.simple_tag(takes_context=True)
def removal_notice(context: Any, post: Post) -> dict[str, Any] | None:
    """Why a removed post was removed, for its author only (nobody else reaches a removed
    post: `content.selectors.visible_to_q`); None otherwise."""
    user = context.get("user")
    if post.status != Post.Status.REMOVED or not isinstance(user, User) \
            or user.pk != post.author_id:
        return None
    action = moderation_selectors.removals_of(target_type=TargetType.POST,
                                              target_ids=[post.pk]).get(post.pk)
    if action is None:
        return {"reason": "", "rule": "", "guideline_url": "", "date": None}
    return {"reason": action.reason,
            "rule": Policy(action.policy).label if action.policy in Policy.values else "",
            "guideline_url": moderation_conf.guideline_url(action.policy),
            "date": action.created_at}
