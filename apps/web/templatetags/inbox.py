"""The inbox's unread count on every page (`{% load inbox %}{% unread_inbox as unread %}`):
the header's bell and the tab bar's Inbox badge, rendered by the server (one indexed count,
`apps.notifications.selectors.unread_count`; 0 signed out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template

from apps.accounts.models import User
from apps.notifications import selectors as notification_selectors

register = template.Library()


def counted_once(context: Any, name: str, count: Callable[[User], int]) -> int:
    """`count(user)` once per request (the header and the tab bar both show it), kept on
    the request as `name`; 0 signed out. The Messages badge (messages_nav) uses it too."""
    request = context.get("request")
    user = context.get("user")
    if not isinstance(user, User) or not user.is_authenticated:
        return 0
    cached = getattr(request, name, None)
    if cached is None:
        cached = count(user)
        if request is not None:
            setattr(request, name, cached)
    return int(cached)


@register.simple_tag(takes_context=True)
def unread_inbox(context: Any) -> int:
    return counted_once(context, "_unread_inbox", notification_selectors.unread_count)
