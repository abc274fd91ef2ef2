"""Settings: account (display name, bio, avatar, country, language), privacy (private
account, liked posts shown), sessions and devices, blocked accounts. Forms post here and
call the same services the API calls; sessions and blocks are ended through the API from
the page (`static/js/pages/actions.js`). Password, e-mail and MFA are allauth's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.engagement import selectors as engagement_selectors
from apps.engagement import services as engagement_services
from apps.social import selectors as social_selectors
from apps.web.pages import avatar_url, page_of, viewer_of

SECTIONS = (
    ("account", "Account"),
    ("privacy", "Privacy"),
    ("sessions", "Sessions and devices"),
    ("blocked", "Blocked accounts"),
)


class AccountForm(forms.Form):
    display_name = forms.CharField(max_length=50, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "nickname"}))
    bio = forms.CharField(max_length=160, required=False,
                          widget=forms.Textarea(attrs={"rows": 3}))
    country = forms.CharField(
        max_length=2, required=False, help_text="Two letters (ISO 3166-1), e.g. GB.",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2,
                                      "pattern": "[A-Za-z]{2}"}))
    language = forms.CharField(
        max_length=16, required=False, help_text='A language tag such as "en" or "pt-BR".',
        widget=forms.TextInput(attrs={"autocomplete": "language"}))


class AvatarForm(forms.Form):
    file = forms.ImageField(label="New avatar", help_text="JPEG, PNG, WebP or GIF, up to 10 MB.")


class PrivacyForm(forms.Form):
    is_private = forms.BooleanField(
        required=False, label="Private account",
        help_text="Only people you approve can follow you and see your posts and lists.")
    show_liked_posts = forms.BooleanField(
        required=False, label="Show the posts I liked",
        help_text="People who can see your profile's content see a Liked tab.")


def _context(request: HttpRequest, section: str, **extra: Any) -> dict[str, Any]:
    return {"sections": SECTIONS, "section": section, **extra}


def _apply_errors(form: forms.Form, error: ApplicationError) -> None:
    """A service's refusal shown on the form (on its field when it names one)."""
    placed = False
    for name, problems in error.fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


@login_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return redirect("web:settings-account")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    initial = {"display_name": me.display_name, "bio": me.bio, "country": me.country,
               "language": me.language}
    form = AccountForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            accounts_services.user_profile_update(user=me, **form.cleaned_data)
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("web:settings-account")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "web/settings.html", _context(
        request, "account", form=form, avatar_form=AvatarForm(),
        avatar=avatar_url(me, "320")), status=status)


@login_required
@require_http_methods(["POST"])
def avatar(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = AvatarForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            accounts_services.user_avatar_set(user=me, file=upload, size=upload.size)
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Your new avatar is being prepared.")
            return redirect("web:settings-account")
    initial = {"display_name": me.display_name, "bio": me.bio, "country": me.country,
               "language": me.language}
    return render(request, "web/settings.html", _context(
        request, "account", form=AccountForm(initial=initial), avatar_form=form,
        avatar=avatar_url(me, "320")), status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def privacy(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    initial = {"is_private": me.is_private,
               "show_liked_posts": engagement_selectors.shows_liked_posts(me)}
    form = PrivacyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        accounts_services.user_profile_update(user=me, is_private=form.cleaned_data["is_private"])
        engagement_services.engagement_settings_update(
            user=me, show_liked_posts=form.cleaned_data["show_liked_posts"])
        messages.success(request, "Your privacy settings are saved.")
        return redirect("web:settings-privacy")
    return render(request, "web/settings.html", _context(
        request, "privacy", form=form,
        follow_requests_url=reverse("web:follow-requests")))


@login_required
@require_safe
def sessions(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    page = page_of(request, accounts_selectors.user_sessions_for(me), size=50)
    devices = accounts_selectors.devices_by_session_key(
        user=me, session_keys=[s.session_key for s in page.rows])
    current = request.session.session_key
    rows = [{"session": s, "device": devices.get(s.session_key),
             "is_current": s.session_key == current,
             "revoke_url": reverse("v1:me-session-detail", args=[s.pk])}
            for s in page.rows]
    return render(request, "web/settings.html", _context(
        request, "sessions", sessions=rows, next_before=page.next_before,
        revoke_all_url=reverse("v1:me-sessions-revoke-all")))


@login_required
@require_safe
def blocked(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    page = page_of(request, social_selectors.get_blocks_for(me))
    rows = [{"user": b.blocked, "avatar": avatar_url(b.blocked, "48"),
             "unblock_url": reverse("v1:user-block", args=[b.blocked.username])}
            for b in page.rows]
    return render(request, "web/settings.html", _context(
        request, "blocked", blocks=rows, next_before=page.next_before))
