"""The inbox's unread count on every page (`{% load inbox %}{% unread_inbox as unread %}`):
the header's bell and the tab bar's Inbox badge, rendered by the server (one indexed count,
`apps.notifications.selectors.unread_count`; 0 signed out)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.accounts.models import User
from apps.notifications import selectors as notification_selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_inbox(context: Any) -> int:
    """Counted once per request (the header and the tab bar both show it)."""
    request = context.get("request")
    user = context.get("user")
    if not isinstance(user, User) or not user.is_authenticated:
        return 0
    cached = getattr(request, "_unread_inbox", None)
    if cached is None:
        cached = notification_selectors.unread_count(user)
        if request is not None:
            request._unread_inbox = cached
    return int(cached)
