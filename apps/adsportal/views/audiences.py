"""Custom audiences (a CSV of e-mail addresses, hashed with SHA-256 on the server as the file
is read: the addresses are never stored, only the people they match) and lookalikes."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from apps.ads.conf import conf
from apps.ads.services import audiences as audience_services
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.forms import AudienceForm, LookalikeForm, apply_errors
from apps.core.errors import ApplicationError

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEADERS = frozenset(
    {"email", "e-mail", "emails", "email_address", "mail", "hashed_email", "sha256"}
)


def normalised_email(raw: str) -> str:
    """The form matched on: trimmed and lower-cased (the same normalisation apps.ads
    applies to members' addresses)."""
    return raw.strip().lower()


def hashes_from_csv(data: bytes) -> tuple[list[str], int]:
    """SHA-256 hex of every address in the file's first column (a header line or blank
    lines are skipped; a value that is already 64 hex characters is taken as a hash), and
    how many lines were not addresses. The addresses live only in this function's memory."""
    text = data.decode("utf-8-sig", errors="replace")
    hashes: dict[str, None] = {}
    skipped = 0
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        value = row[0].strip().lower()
        if value in HEADERS:
            continue
        if HEX64.match(value):
            hashes.setdefault(value, None)
        elif "@" in value and " " not in value and len(value) <= 254:
            hashes.setdefault(hashlib.sha256(normalised_email(value).encode()).hexdigest(), None)
        else:
            skipped += 1
    return list(hashes), skipped


def _page(
    request: HttpRequest,
    seat: Seat,
    *,
    form: AudienceForm | None = None,
    lookalike: LookalikeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    audiences = reads.audiences_of(seat)
    return render(
        request,
        "adsportal/audiences.html",
        {
            "seat": seat,
            "tab": "audiences",
            "audiences": audiences,
            "lookalikes": reads.lookalikes_of(seat),
            "form": form or AudienceForm(),
            "lookalike_form": lookalike or LookalikeForm(seeds=_seeds(audiences)),
            "min_size": conf("SWIPEME_ADS_AUDIENCE_MIN_SIZE"),
        },
        status=status,
    )


def _seeds(audiences: list[Any]) -> list[tuple[str, str]]:
    return [(str(a.pk), a.name) for a in audiences]


@portal_view
@require_safe
def audiences(request: HttpRequest, org_id: str) -> HttpResponse:
    return _page(request, seat_for(request, org_id, "see_audiences"))


@portal_view
@require_http_methods(["POST"])
def audience_new(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_audiences")
    form = AudienceForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, seat, form=form, status=400)
    hashes, skipped = hashes_from_csv(form.cleaned_data["file"].read())
    if not hashes:
        form.add_error("file", "No e-mail addresses found in the file's first column.")
        return _page(request, seat, form=form, status=400)
    try:
        audience = audience_services.audience_upload(
            user=seat.user, org=seat.org, name=form.cleaned_data["name"], lines=hashes
        )
    except ApplicationError as error:
        apply_errors(form, error)
        return _page(request, seat, form=form, status=400)
    note = ""
    if skipped:
        lines = "1 line that was" if skipped == 1 else f"{skipped:,} lines that were"
        note = f" Skipped {lines} not an e-mail address."
    messages.success(
        request,
        f"{audience.name}: {len(hashes):,} addresses uploaded, "
        f"{audience.matched_count:,} matched SwipeMe accounts.{note}",
    )
    return redirect("adsportal:audiences", seat.org.pk)


@portal_view
@require_http_methods(["POST"])
def lookalike_new(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_audiences")
    form = LookalikeForm(request.POST, seeds=_seeds(reads.audiences_of(seat)))
    if not form.is_valid():
        return _page(request, seat, lookalike=form, status=400)
    try:
        lookalike = audience_services.lookalike_create(
            user=seat.user,
            org=seat.org,
            name=form.cleaned_data["name"],
            seed_id=int(form.cleaned_data["seed"]),
            size=form.cleaned_data["size"],
        )
    except ApplicationError as error:
        apply_errors(form, error)
        return _page(request, seat, lookalike=form, status=400)
    messages.success(request, f"{lookalike.name}: {lookalike.matched_count:,} people found.")
    return redirect("adsportal:audiences", seat.org.pk)
