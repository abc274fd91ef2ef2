"""The inbox on the web (`/inbox`): every notification (likes, comments, mentions, followers,
moderation decisions, account security), with the API's tabs, newest state first, keyset
pages by seq; mark one or all read; accept or decline a follow request from its row. The
rows and their words come from `apps.notifications.selectors` (the API's too); moderation
decisions link to their detail on `/notices` and to the appeal form."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timesince import timesince
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.notifications import selectors as notification_selectors
from apps.notifications import services as notification_services
from apps.notifications import types as notification_types
from apps.social import services as social_services
from apps.web.pages import avatar_url, viewer_of

PAGE_SIZE = 30
TABS = [("all", "All"), ("likes", "Likes"), ("comments", "Comments"),
        ("mentions", "Mentions"), ("followers", "Followers")]


def _row(line: notification_selectors.Line) -> dict[str, Any]:
    n = line.notification
    until = parse_datetime(str(n.data.get("appealable_until") or ""))
    return {
        "line": line, "id": n.pk, "type": n.type, "unread": n.read_at is None,
        "avatars": [{"username": u.username, "url": avatar_url(u, "48")}
                    for u in line.actors[:3]],
        "is_request": n.type == notification_types.FOLLOW_REQUEST.name,
        "is_moderation": n.type in notification_types.MODERATION_TYPES,
        "is_security": n.type == notification_types.SECURITY.name,
        "appeal_path": (n.data.get("appeal_path") or None)
        if until is not None and until > timezone.now() else None,
        "guideline_url": n.data.get("guideline_url") or None,
        "when": ("just now" if timezone.now() - n.updated_at < timedelta(minutes=1)
                 else f"{timesince(n.updated_at)} ago"),
    }


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    try:
        tab = notification_selectors.parse_tab(request.GET.get("tab"))
    except ApplicationError:
        tab = notification_types.Tab.ALL
    silenced = notification_selectors.silenced_for(me)  # once, for the rows and the lines
    rows = notification_selectors.notifications_for(me, tab=tab, silenced=silenced)
    before = parse_id(request.GET.get("before"))
    if before is not None:
        rows = rows.filter(seq__lt=before)
    found = list(rows.order_by("-seq")[:PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    lines = notification_selectors.lines_for(me, found, silenced=silenced)
    return render(request, "web/inbox.html", {
        "rows": [_row(line) for line in lines], "tab": str(tab), "tabs": TABS,
        "next_before": found[-1].seq if more and found else None,
        "latest_seq": max((n.seq for n in found), default=0) if before is None else None,
    })


def _back(request: HttpRequest) -> HttpResponseRedirect:
    tab = request.POST.get("tab") or ""
    url = reverse("web:inbox")
    return HttpResponseRedirect(f"{url}?tab={tab}" if tab in dict(TABS) else url)


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None
    up_to = parse_id(request.POST.get("up_to_seq"))
    notification_services.notifications_mark_all_read(user=me, up_to_seq=up_to)
    return _back(request)


@login_required
@require_POST
def read_one(request: HttpRequest, notification_id: str) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None
    pk = parse_id(notification_id)
    try:
        if pk is None:
            raise NotFoundError("Notification not found.")
        notification_services.notification_mark_read(user=me, notification_id=pk)
    except NotFoundError as exc:
        messages.error(request, exc.message)
    return _back(request)


@login_required
@require_POST
def answer_request(request: HttpRequest, notification_id: str) -> HttpResponse:
    """Accept or decline the follow request a notification is about."""
    me = viewer_of(request)
    assert me is not None
    pk = parse_id(notification_id)
    action = request.POST.get("action")
    try:
        if pk is None:
            raise NotFoundError("Notification not found.")
        if action not in ("accept", "decline"):  # never decline by default
            raise ApplicationError("Choose Accept or Decline.")
        row = notification_services.notification_mark_read(user=me, notification_id=pk)
        if row.type != notification_types.FOLLOW_REQUEST.name or row.target_id is None:
            raise NotFoundError("This notification is not about a follow request.")
        if action == "accept":
            social_services.follow_request_approve(target=me, request_id=row.target_id)
            messages.success(request, "Follow request accepted.")
        else:
            social_services.follow_request_deny(target=me, request_id=row.target_id)
            messages.success(request, "Follow request declined.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(request)


def _quiet_time(raw: str | None) -> time | None:
    try:
        return time.fromisoformat(raw) if raw else None
    except ValueError:
        return None  # the service says in words that a start and an end are needed


@login_required
@require_http_methods(["GET", "POST"])
def inbox_settings(request: HttpRequest) -> HttpResponse:
    """`/inbox/settings`: the API's preferences on the web (type x channel, quiet hours in
    the person's time zone, the e-mail digest), saved through the same use case."""
    me = viewer_of(request)
    assert me is not None
    status = 200
    if request.method == "POST":
        post = request.POST
        channels = {kind.name: {str(ch): f"{kind.name}.{ch}" in post
                                for ch in notification_types.Channel}
                    for kind in notification_types.all_types() if not kind.mandatory}
        quiet: dict[str, object] = {"enabled": "quiet_enabled" in post,
                                    "time_zone": post.get("time_zone", "").strip()}
        if quiet["enabled"]:
            quiet.update(start=_quiet_time(post.get("quiet_start")),
                         end=_quiet_time(post.get("quiet_end")))
        try:
            notification_services.preferences_update(
                user=me, channels=channels, quiet_hours=quiet,
                digest=post.get("digest") or None)
        except ApplicationError as exc:
            problems = [m for msgs in (exc.fields or {}).values() for m in msgs]
            messages.error(request, " ".join([exc.message, *problems]))
            status = 400
        else:
            messages.success(request, "Your notification settings are saved.")
            return HttpResponseRedirect(reverse("web:inbox-settings"))
    prefs = notification_selectors.preferences_for(me)
    return render(request, "web/inbox_settings.html", {
        "matrix": prefs.matrix, "channels": [("in_app", "In the app"), ("push", "Push"),
                                             ("email", "E-mail")],
        "prefs": prefs, "digests": [("off", "Off"), ("daily", "Daily"), ("weekly", "Weekly")],
        # these go by e-mail at once (moderation decisions), not in the digest
        "email_now": {kind.name for kind in notification_types.all_types() if kind.email_now},
    }, status=status)
