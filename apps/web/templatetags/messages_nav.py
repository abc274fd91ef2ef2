"""The Messages link's unread total on every page (`{% load messages_nav %}{% unread_messages
as n %}`): the sum of the person's inbox conversations' unread counts
(`apps.messaging.selectors.unread_total`, the API's figure too); 0 signed out."""

from __future__ import annotations

from typing import Any

from django import template

from apps.messaging import selectors as messaging_selectors
from apps.web.templatetags.inbox import counted_once

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: Any) -> int:
    return counted_once(context, "_unread_messages", messaging_selectors.unread_total)
