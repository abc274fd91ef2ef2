"""Who may do what in the portal. The membership question ("is this person in this org, and
as what?") is apps.ads' selector's; this module only turns its answer into pages: another
org's ids and unknown ids are the same 404, and a member whose role may not do something
gets a 403 page saying which role may."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import User
from apps.ads import selectors as ads_selectors
from apps.ads.models import AdvertiserOrg, Membership
from apps.ads.services.orgs import _REFUSALS, ROLE_ACTIONS, Action, role_of
from apps.adsportal.throttle import throttled_writes
from apps.core.errors import NotFoundError
from apps.core.ids import parse_id

Role = Membership.Role

# The portal's words for apps.ads' actions (ROLE_ACTIONS there is the one rule of what
# each role may do; the portal only hides what a role cannot use).
ACTIONS = {
    "see_campaigns": Action.VIEW,
    "see_audiences": Action.VIEW,
    "see_billing": Action.VIEW,
    "see_reports": Action.REPORTS,
    "edit_campaigns": Action.EDIT_CAMPAIGNS,
    "edit_audiences": Action.AUDIENCES,
    "fund": Action.BILLING,
    "manage_members": Action.MEMBERS,
}


class NotAllowedError(Exception):
    """A member whose role may not do this: `portal_view` answers a 403 page in words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Seat:
    """The signed-in person's place in one org, for one request."""

    user: User
    org: AdvertiserOrg
    role: str

    def can(self, action: str) -> bool:
        return ACTIONS[action] in ROLE_ACTIONS[self.role]

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    @property
    def perms(self) -> dict[str, bool]:
        return {action: self.can(action) for action in ACTIONS}


def seat_for(request: HttpRequest, org_id: str, action: str = "see_campaigns") -> Seat:
    """The user's seat in `org_id`, or 404 (not a member, unknown id, not an id), or 403 in
    words (a member whose role may not do `action`)."""
    user = request.user
    pk = parse_id(org_id)
    if not isinstance(user, User) or not user.is_authenticated or pk is None:
        raise Http404("No such organisation.")
    try:
        org = ads_selectors.org_for(user, pk)
    except NotFoundError as exc:
        raise Http404("No such organisation.") from exc
    role = role_of(user, pk)
    if role is None:  # removed between the two reads
        raise Http404("No such organisation.")
    seat = Seat(user=user, org=org, role=role)
    if not seat.can(action):
        raise NotAllowedError(_REFUSALS[ACTIONS[action]])
    return seat


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Every portal page: signed in (else the log-in page, then back), POSTs throttled per
    user, and a role that may not do something told so in words with a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return throttled_writes(view)(request, *args, **kwargs)
        except NotAllowedError as refused:
            return render(
                request, "adsportal/forbidden.html", {"message": refused.message}, status=403
            )

    return wrapper
