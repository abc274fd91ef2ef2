"""The site's navigation state (`{% load navigation %}{% nav_state as nav %}`): which tab
of the phone's bottom tab bar is the current page's, and where Discover and Inbox lead. A
page whose URL does not exist (yet) simply has no tab; a template rendered without a
request (the 500 page) gets the signed-out bar without a current tab."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

register = template.Library()

# web URL names → tab
_TABS = {
    "home": "home", "feed-following": "home", "live": "home", "live-player": "home",
    "discover": "discover", "search": "discover", "hashtag": "discover", "sound": "discover",
    "upload": "upload",
    "notices": "inbox", "inbox": "inbox", "messages": "inbox", "messages-thread": "inbox",
    "settings": "profile", "settings-account": "profile", "settings-avatar": "profile",
    "settings-privacy": "profile", "settings-sessions": "profile", "settings-blocked": "profile",
    "follow-requests": "profile",
}
# a profile's pages are the Profile tab only when they are the viewer's own
_OWN_PROFILE = {"profile", "liked", "drafts", "followers", "following"}


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def current_tab(request: HttpRequest | None) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.view_name == "account_login":
        return "login"
    if match.namespace != "web":
        return ""
    name = match.url_name or ""
    if name in _OWN_PROFILE:
        user = getattr(request, "user", None)
        mine = (user is not None and user.is_authenticated
                and str(match.kwargs.get("username", "")).lower() == user.get_username().lower())
        return "profile" if mine else ""
    return _TABS.get(name, "")


@register.simple_tag(takes_context=True)
def nav_state(context: Any) -> dict[str, str | None]:
    return {"tab": current_tab(context.get("request")), "discover_url": _url("web:discover"),
            "inbox_url": _url("web:inbox")}
