"""The Messages link's unread total on every page (`{% load messages_nav %}{% unread_messages
as n %}`): the sum of the person's inbox conversations' unread counts
(`apps.messaging.selectors.unread_total`, the API's figure too); 0 signed out."""

from __future__ import annotations

from typing import Any

from django import template

from apps.accounts.models import User
from apps.messaging import selectors as messaging_selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: Any) -> int:
    """Counted once per request (the header and the page may both show it)."""
    request = context.get("request")
    user = context.get("user")
    if not isinstance(user, User) or not user.is_authenticated:
        return 0
    cached = getattr(request, "_unread_messages", None)
    if cached is None:
        cached = messaging_selectors.unread_total(user)
        if request is not None:
            request._unread_messages = cached
    return int(cached)
