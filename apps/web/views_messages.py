"""Direct messages on the web (issue 15): `/messages` (the conversation list, Inbox and
Requests tabs) and `/messages/<id>` (one conversation: the thread and its composer; on wide
screens beside the list). The pages are shells: static/js/messages/ renders the list and the
thread from the REST API (`/api/v1/conversations/...`, the mobile clients' API, so the web
and the apps never disagree) and keeps them live over `ws/messages/`. Who may open a
conversation is the one access rule, `apps.messaging.selectors.participant_for` (anyone
else gets the same 404 as for a conversation that does not exist)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core.errors import NotFoundError
from apps.core.ids import parse_id
from apps.messaging import selectors as messaging_selectors
from apps.web.pages import viewer_of

FOLDERS = [("inbox", "Inbox"), ("requests", "Requests"), ("archived", "Archived")]


@login_required
@require_safe
def conversations(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    folder = request.GET.get("folder")
    return render(request, "web/messages.html", {
        "folder": folder if folder in dict(FOLDERS) else "inbox", "folders": FOLDERS,
        "conversation": None, "requests": messaging_selectors.requests_count(me),
    })


@login_required
@require_safe
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    pk = parse_id(conversation_id)
    if pk is None:
        raise Http404("Conversation not found.")
    try:
        participant = messaging_selectors.participant_for(me, pk)
    except (NotFoundError, Http404) as exc:
        raise Http404("Conversation not found.") from exc
    # the list beside the thread opens on the folder this conversation sits in
    folder = ("requests" if participant.accepted_at is None
              else "archived" if participant.archived_at is not None else "inbox")
    # the receipts the page starts with (later ones arrive over the socket)
    reads = {str(k): v for k, v in messaging_selectors.read_positions(participant).items()}
    return render(request, "web/messages.html", {
        "folder": folder, "folders": FOLDERS, "conversation": participant.conversation,
        "participant": participant, "requests": messaging_selectors.requests_count(me),
        "reads": reads, "upload_max_bytes": settings.MEDIA_UPLOAD_MAX_BYTES,
    })
