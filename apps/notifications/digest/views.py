"""The unsubscribe link of an e-mail: works without signing in (the signed token is the
authority, so no session and no CSRF token: mail clients' RFC 8058 one-click POST has
neither). GET only asks (link scanners must not unsubscribe anyone); POST does it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.notifications.digest import services
from apps.notifications.digest.tokens import LISTS, InvalidTokenError, read_token

TEMPLATE = "notifications/unsubscribe.html"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = read_token(token)
    except InvalidTokenError as exc:
        return render(request, TEMPLATE, {"state": "invalid", "message": exc.message},
                      status=400)
    context = {"list_label": LISTS[target.list_name]}
    if request.method == "POST":
        services.unsubscribe(target)
        return render(request, TEMPLATE, {**context, "state": "done"})
    return render(request, TEMPLATE, {**context, "state": "ask"})
